from django.urls import include, path

from .views import (
    bulk,
    chargebee,
    find,
    junction,
    orders,
    profile,
    reports,
    requests,
    returnhelper,
    review,
)

app_name = "resends"

urlpatterns = [
    path("", find.find, name="find"),
    path("orders/<int:pk>/", orders.order_detail, name="order"),
    path("orders/<int:pk>/chargebee/", chargebee.chargebee_resend, name="chargebee"),
    path(
        "orders/<slug:provider>/<str:external_id>/",
        orders.order_by_reference,
        name="order-by-reference",
    ),
    path("returnhelper/", returnhelper.returnhelper_resend, name="returnhelper"),
    path(
        "returnhelper/service-types/",
        returnhelper.returnhelper_service_types,
        name="returnhelper-service-types",
    ),
    path("junction/", junction.junction_resend, name="junction"),
    path("resends/", requests.request_list, name="requests"),
    path("resends/<uuid:public_id>/", requests.request_detail, name="request"),
    path("resends/<uuid:public_id>/status/", requests.request_status, name="request-status"),
    path("resends/<uuid:public_id>/retry/", requests.request_retry, name="request-retry"),
    path("resends/<uuid:public_id>/cancel/", requests.request_cancel, name="request-cancel"),
    path("reports/", reports.reports, name="reports"),
    path("time-zone/", profile.time_zone, name="time-zone"),
    path("review/", review.review_queue, name="review-queue"),
    path("review/<int:call_id>/", review.review_call, name="review"),
    path("review/<int:call_id>/provider/", review.review_provider, name="review-provider"),
    path("review/<int:call_id>/decide/", review.review_decide, name="review-decide"),
    path("bulk/", bulk.bulk_list, name="bulk-jobs"),
    path("bulk/new/", bulk.bulk_new, name="bulk-new"),
    path("bulk/<uuid:public_id>/", bulk.bulk_job, name="bulk-job"),
    path("bulk/<uuid:public_id>/progress/", bulk.bulk_progress, name="bulk-progress"),
    path(
        "bulk/<uuid:public_id>/<str:action>/",
        bulk.bulk_action,
        name="bulk-action",
    ),
    path("webhooks/", include("resends.webhooks.urls")),
]
