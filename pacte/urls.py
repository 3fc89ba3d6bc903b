from django.conf import settings
from django.contrib import admin
from django.urls import path

from pacte import views

admin.site.site_header = "Pacte des solidarités – back-office"
admin.site.site_title = "Pacte des solidarités"
admin.site.index_title = "Administration"

urlpatterns = [
    path("", views.accueil, name="accueil"),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
