"""The home page: login required, says who the user is and what it sees."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from tests.factories import OrganisationFactory, UserFactory, collectivite, region

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(reverse("accueil"))
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/"


@pytest.mark.parametrize(
    ("organisation", "perimetre"),
    [
        (lambda: OrganisationFactory(ddets=True), "Département 05 (D05)"),
        (lambda: OrganisationFactory(dreets=True, region=region("84")), "Région Auvergne-Rhône-Alpes"),
        (lambda: OrganisationFactory(de_collectivite=True, collectivite=collectivite("M-LYO")), "Collectivité M-LYO"),
        (lambda: OrganisationFactory(centrale=True), "France entière"),
        (lambda: OrganisationFactory(nom="CAF du Rhône"), "Actions qu'il porte"),
    ],
)
def test_home_names_the_perimeter(client, organisation, perimetre, django_assert_max_num_queries):
    user = UserFactory(organisation=organisation())
    client.force_login(user)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("accueil"))
    assert response.status_code == 200
    assert escape(perimetre) in response.content.decode()
    assert f"<strong>{user.organisation.nom}</strong>" in response.content.decode()


def test_pages_carry_a_content_security_policy(client, editeur):
    client.force_login(editeur)
    response = client.get(reverse("accueil"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    # The DSFR's scripts are served by us, so 'self' lets them run.
    assert 'src="/static/dsfr/dist/dsfr/dsfr.module.min.js"' in response.content.decode()
    assert "INVALID_TEMPLATE_VARIABLE" not in response.content.decode()
