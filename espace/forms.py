"""What every front-office form shares: DSFR rendering, the version it edits, the freeze it saw.

A front-office form is the back-office's :class:`pacte.admin_base.ServiceForm` (hidden
``pacte_version`` and ``pacte_fige``, stale page refused with the name of who changed what, page
shown before a signature refused after it) rendered the DSFR way. It writes nothing: the view calls
the service, and :func:`service_errors_to_form` puts the service's refusal next to the field it
concerns.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from dsfr.forms import DsfrBaseForm
from dsfr.utils import dsfr_input_class_attr

from pacte.admin_base import ServiceForm, harden_text_fields


class EspaceModelForm(ServiceForm):
    """A model form of the front office. ``contrat`` is the contract whose freeze the page shows."""

    template_name = DsfrBaseForm.template_name
    bound_field_class = DsfrBaseForm.bound_field_class
    default_renderer = DsfrBaseForm.default_renderer

    def __init__(self, *args, contrat=None, request=None, **kwargs):
        self.pacte_contrat = contrat
        self.request = request
        super().__init__(*args, **kwargs)
        for visible in self.visible_fields():
            dsfr_input_class_attr(visible)


class EspaceForm(DsfrBaseForm):
    """A plain form of the front office (confirmation pages, filters that post)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        harden_text_fields(self)


def service_errors_to_form(form: forms.BaseForm, error: ValidationError) -> None:
    """A service's refusal on the form: each message on its field when the form has it, else on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)
