"""VK ID links (F9): the one place that ties a person to a VK account or unties them.

Every caller (the «Привязать / Отвязать» pages, the support commands, the Django admin) goes
through `link_vk_profile` and `unlink_vk_profile`, so the push of a link to the messenger,
which the messenger issue adds here on commit, reaches every way in at once.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from directory.models import Organization, Person
from epos_chats import audit
from epos_chats.models import AuditEvent, Chat
from vk_sync.models import VkLink
from vk_sync.tasks import enqueue_after_commit, push_links_task

MAX_VK_USER_ID = 2**63 - 1  # the column is a bigint


class VkLinkError(Exception):
    """A link the rules do not allow; the message is shown to the person as it is."""


class VkAccountTaken(VkLinkError):
    def __init__(self):
        super().__init__("Этот аккаунт VK уже привязан к другому пользователю.")


def _validated(vk_user_id: object) -> int:
    # bool is an int to Python, and True would quietly become id 1.
    if (
        isinstance(vk_user_id, bool)
        or not isinstance(vk_user_id, int)
        or not 0 < vk_user_id <= MAX_VK_USER_ID
    ):
        raise VkLinkError(
            f"Идентификатор пользователя VK должен быть целым положительным числом, "
            f"получено «{vk_user_id}»."
        )
    return vk_user_id


def link_vk_profile(
    person: Person,
    vk_user_id: int,
    *,
    actor: Person | None = None,
    organization: Organization | None = None,
) -> VkLink:
    """Link `person` to the VK account `vk_user_id`, replacing the person's previous link.

    Linking again to the same account changes nothing. One VK account never serves two people:
    the database's unique constraint decides, so two people racing for one account cannot both
    win. `actor` is who acted (None: the system or a support command).
    """
    vk_user_id = _validated(vk_user_id)
    with transaction.atomic():
        # Serializes the links of one person: a double click cannot make two rows for them,
        # so the only conflict left below is the account.
        Person.objects.select_for_update().filter(pk=person.pk).first()
        link = VkLink.objects.filter(person=person).first()
        if link is not None and link.vk_user_id == vk_user_id:
            return link
        before = {"vk_user_id": link.vk_user_id} if link else {}
        try:
            with transaction.atomic():
                if link is None:
                    link = VkLink.objects.create(person=person, vk_user_id=vk_user_id)
                else:
                    link.vk_user_id = vk_user_id
                    link.linked_at = timezone.now()
                    link.save(update_fields=["vk_user_id", "linked_at"])
        except IntegrityError as exc:
            raise VkAccountTaken() from exc
        audit.record(
            actor=actor,
            organization=organization,
            action=AuditEvent.Action.VK_LINKED,
            obj=link,
            before=before,
            after={"vk_user_id": vk_user_id},
        )
        _chats_changed_for(person)
        # F9: the link goes at once, and the person into every messenger chat they are in.
        enqueue_after_commit(push_links_task, [person.pk])
    return link


def unlink_vk_profile(
    person: Person,
    *,
    actor: Person | None = None,
    organization: Organization | None = None,
) -> bool:
    """Remove the person's VK ID link; False when there was none (nothing changes then).

    Their messenger memberships go at the next push, which finds them no longer linked.
    """
    with transaction.atomic():
        link = VkLink.objects.select_for_update().filter(person=person).first()
        if link is None:
            return False
        audit.record(
            actor=actor,
            organization=organization,
            action=AuditEvent.Action.VK_UNLINKED,
            obj=link,
            before={"vk_user_id": link.vk_user_id},
        )
        link.delete()
        # Their memberships leave the messenger at the next push, which finds these chats
        # changed; the link itself is withdrawn at once.
        _chats_changed_for(person)
        enqueue_after_commit(push_links_task, [person.pk])
    return True


def _chats_changed_for(person: Person) -> None:
    """The person's messenger chats now want a different member list: mark them for the push."""
    Chat.objects.filter(
        platform=Chat.Platform.VK, deleted_at__isnull=True, members__person=person
    ).update(changed_at=timezone.now())


def bulk_link_demo_profiles(person_ids: list[int], first_vk_id: int) -> int:
    """For demo data only: link `person_ids[i]` to VK id `first_vk_id + i`, in bulk.

    No audit and no push, and a person or an id already linked is silently skipped
    (`ignore_conflicts`), so running it again changes nothing. Returns the links added.
    """
    _validated(first_vk_id)
    with transaction.atomic():
        before = VkLink.objects.count()
        VkLink.objects.bulk_create(
            [
                VkLink(person_id=person_id, vk_user_id=first_vk_id + offset)
                for offset, person_id in enumerate(person_ids)
            ],
            batch_size=2000,
            ignore_conflicts=True,
        )
        return VkLink.objects.count() - before
