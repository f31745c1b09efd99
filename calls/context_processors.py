from calls.marks import CallsMark


def calls_mark(request):
    """`calls_mark`: whether base.html marks «Сообщения» with a new online call (F27)."""
    return {"calls_mark": CallsMark(request)}
