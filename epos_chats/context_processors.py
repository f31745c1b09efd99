from epos_chats.messaging_marks import EposUnread


def epos_unread(request):
    """`epos_unread`: the unread ЭПОС messages next to «Сообщения» (F30), asked once a page."""
    return {"epos_unread": EposUnread(request)}
