"""Template helpers of «Мониторинг»."""

from django import template
from django.utils import formats
from django.utils.safestring import SafeString, mark_safe

from reports.selectors import TARGET_PERCENT, Share

register = template.Library()

_NONE = mark_safe('<span class="muted">нет</span>')
_ON_TARGET = '<span class="on-target" aria-label="цель достигнута">✓</span>'


@register.simple_tag
def share_cell(share: Share) -> SafeString:
    """One share against the 100 % target: the percentage, how many are missing below the
    target, «linked из total». Drawn here rather than by an included template: the region's
    table has four a college, and 400 includes cost more than all the rest of the page."""
    if not share.total:
        return _NONE
    if share.falls_short:
        short = " share--short"
        mark = (
            f'<span class="shortfall" title="До цели {TARGET_PERCENT} % не хватает">'
            f"−{share.missing:d}</span>"
        )
    else:
        short, mark = "", _ON_TARGET
    percent = formats.number_format(share.percent, 1)
    # Only numbers go in (`:d` refuses anything else), so there is nothing to escape.
    return mark_safe(
        f'<span class="share{short}">{percent} %</span> {mark} '
        f'<span class="muted nowrap">{share.linked:d} из {share.total:d}</span>'
    )
