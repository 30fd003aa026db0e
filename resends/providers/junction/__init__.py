"""Junction: replay lab-testing order webhooks (`POST /v3/order/resend_events`)."""
