"""The refusal page (403) says what fits the person refused: an agent who opens a managers-only
page reads that it is for managers (not that they should join Customer service, which they are
in); someone in no group reads which groups give access; a manager refused an action is not told
to join a group."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from resends.models import BulkJob

from .helpers import signed_in, squash, text

pytestmark = pytest.mark.django_db
JOIN = "ask a manager to add you to the “Customer service” or “Managers” group"


@pytest.mark.parametrize("name", ["resends:bulk-jobs", "resends:reports", "resends:review-queue"])
def test_an_agent_refused_a_managers_page_reads_it_is_for_managers(
    client: Client, agent: User, name: str
) -> None:
    response = signed_in(client, agent).get(reverse(name))
    assert response.status_code == 403
    words = squash(text(response))
    assert "Not allowed This page is for managers." in words
    assert "You are signed in as alice, in Customer service: this is for managers." in words
    assert JOIN not in words
    assert f'href="{reverse("resends:find")}"' in text(response)


def test_someone_in_no_group_reads_which_groups_give_access(client: Client, outsider: User) -> None:
    response = signed_in(client, outsider).get(reverse("resends:find"))
    assert response.status_code == 403
    words = squash(text(response))
    assert "This console is for customer service and managers." in words
    assert f"If you need access, {JOIN}." in words
    assert "in Customer service" not in words


def test_a_manager_refused_an_action_is_not_told_to_join_a_group(
    client: Client, manager: User, job: BulkJob
) -> None:
    BulkJob.objects.filter(pk=job.pk).update(created_by=manager, state="awaiting_approval")
    url = reverse("resends:bulk-action", args=[job.public_id, "approve"])
    response = signed_in(client, manager).post(url, {"note": "mine"})
    assert response.status_code == 403
    words = squash(text(response))
    assert "A bulk job needs a manager other than the one who created it." in words
    assert JOIN not in words and "in Customer service" not in words
