"""The cross-app checks are named where the workflow runs them, and a missing one fails closed."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from actions.services import CONTROLES_VALIDATION
from contrats.services import CONTROLES_SIGNATURE
from pacte import hooks


@pytest.mark.parametrize(
    ("event", "expected"),
    [(hooks.CONTRAT_SIGNATURE, CONTROLES_SIGNATURE), (hooks.FICHE_VALIDATION, CONTROLES_VALIDATION)],
)
def test_every_named_check_is_registered(event, expected):
    assert {hooks._name(fn) for fn in hooks._checks[event]} == set(expected)


def test_a_missing_check_fails_closed(monkeypatch):
    monkeypatch.setitem(hooks._checks, hooks.CONTRAT_SIGNATURE, hooks._checks[hooks.CONTRAT_SIGNATURE][:1])
    with pytest.raises(ImproperlyConfigured, match="financement.checks.parite_et_plafonds"):
        hooks.run_checks(hooks.CONTRAT_SIGNATURE, object(), expected=CONTROLES_SIGNATURE)
