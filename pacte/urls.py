from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static as static_url
from django.urls import include, path

admin.site.site_header = "Pacte des solidarités – back-office"
admin.site.site_title = "Pacte des solidarités"
admin.site.index_title = "Administration"


class Deconnexion(auth_views.LogoutView):
    """Django's logout (POST only), then the login page says it is done."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.success(request, "Vous êtes déconnecté.")
        return response


# Accounts: Django's own views (django-axes watches their authenticate()), with DSFR templates in
# templates/registration/. They are public (Django marks them ``login_not_required``).
comptes = [
    path(
        "connexion/",
        auth_views.LoginView.as_view(template_name="registration/connexion.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("deconnexion/", Deconnexion.as_view(), name="logout"),
    path("mot-de-passe/oublie/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("mot-de-passe/oublie/envoye/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "mot-de-passe/nouveau/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "mot-de-passe/nouveau/termine/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("mot-de-passe/changer/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("mot-de-passe/change/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]


@login_not_required
def favicon(request):
    """Browsers ask for /favicon.ico on their own (a PDF opened in a tab, a bookmark): the DSFR's icon."""
    return HttpResponsePermanentRedirect(static_url("dsfr/dist/favicon/favicon.ico"))


urlpatterns = [
    *comptes,
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("", include("espace.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
