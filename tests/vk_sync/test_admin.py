"""B1 in Django admin: pushes, messenger chats and calls listed; failed ones retried."""

import pytest

from epos_chats.services import rebuild_mandatory_chats
from tests import factories
from vk_sync.models import RemoteChat, SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(emulator, settings):
    settings.VK_API_BASE_URL = emulator.url
    settings.VK_API_RATE_LIMIT = 1000
    settings.VK_SYNC_ENABLED = True
    org = factories.OrganizationFactory()
    staff = factories.StaffMemberFactory(organization=org)
    factories.VkLinkFactory(person=staff.person)
    rebuild_mandatory_chats(org)
    from vk_sync.reconcile import push_organization

    push_organization(org)
    return org


@pytest.mark.parametrize("model", ["syncrun", "remotechat", "remotecall", "remotelink"])
def test_the_messenger_pages_open_and_are_read_only(admin_client, pushed, model):
    listing = admin_client.get(f"/admin/vk_sync/{model}/")
    if model == "remotelink":
        assert listing.status_code == 404  # not registered: VkLink is the page for links
        return
    assert listing.status_code == 200
    assert admin_client.get(f"/admin/vk_sync/{model}/add/").status_code == 403


def test_a_sync_run_shows_its_counts(admin_client, pushed):
    run = SyncRun.objects.get()
    page = admin_client.get(f"/admin/vk_sync/syncrun/{run.pk}/change/")
    assert page.status_code == 200 and "messages.createChat" in page.text


def test_failed_chats_are_filtered_and_retried(admin_client, pushed, emulator):
    remote = RemoteChat.objects.first()
    RemoteChat.objects.filter(pk=remote.pk).update(last_error="[927] Chat does not exist")
    listing = admin_client.get("/admin/vk_sync/remotechat/", {"failed": "yes"})
    assert listing.status_code == 200 and "927" in listing.text
    response = admin_client.post(
        "/admin/vk_sync/remotechat/",
        {"action": "push_again", "_selected_action": [remote.pk]},
        follow=True,
    )
    assert "поставлена в очередь" in response.text
    remote.refresh_from_db()
    assert remote.last_error == ""  # the retry reached the messenger and cleared it
    assert SyncRun.objects.count() == 2


def test_push_again_from_the_runs_list(admin_client, pushed):
    run = SyncRun.objects.get()
    admin_client.post(
        "/admin/vk_sync/syncrun/", {"action": "push_again", "_selected_action": [run.pk]}
    )
    assert SyncRun.objects.filter(trigger="manual").count() == 1
