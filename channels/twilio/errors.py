"""Twilio error codes we act on, by name. Reference: https://www.twilio.com/docs/api/errors"""

from __future__ import annotations

OPTED_OUT = "21610"  # the recipient replied STOP; Twilio refuses every send until START
OUTSIDE_WHATSAPP_WINDOW = "63016"  # free-form WhatsApp message outside the 24-hour window

# Refusals no retry can fix: the job records the failure instead of retrying.
PERMANENT_ERROR_CODES = frozenset(
    {
        21211,  # invalid 'To' phone number
        21408,  # permission to send to this region not enabled
        21610,  # recipient replied STOP (unsubscribed)
        21612,  # 'To' number not reachable via this channel
        21614,  # 'To' number is not a valid mobile number
        21617,  # body exceeds the 1600-character limit
        63016,  # WhatsApp: outside the 24-hour window, free-form not allowed
    }
)
