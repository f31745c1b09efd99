"""The text of an ЭПОС message as HTML: escaped, links clickable, line breaks kept."""

from django import template
from django.utils.html import urlize
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_LINK = '<a href="'
_SAFE_LINK = '<a target="_blank" rel="nofollow noopener" href="'


@register.filter
def message_html(text: str) -> SafeString:
    """`urlize` escapes everything that is not a link it builds, so the only `<a href="` left
    in its output are its own: the people's text cannot forge one."""
    html = urlize(text or "", autoescape=True).replace(_LINK, _SAFE_LINK)
    return mark_safe(html.replace("\n", "<br>"))
