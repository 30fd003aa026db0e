"""Return Helper: resend warehoused return items to a customer (`POST /Resend/createResend`)."""
