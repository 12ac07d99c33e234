"""The dummy credentials every emulator accepts (the sandbox has no accounts).

`cdp ingest --sandbox URL` and the sync destinations use these; anything else is rejected with the
vendor's own error, which is how the wrong-credentials paths are tested.
"""

SANDBOX_CREDENTIALS: dict[str, dict[str, str]] = {
    "shopify": {"access_token": "shpat_sandbox_token"},
    "amazon": {
        "lwa_client_id": "amzn1.application-oa2-client.sandbox",
        "lwa_client_secret": "sandbox-client-secret",
        "refresh_token": "Atzr|sandbox-refresh-token",
        "access_token": "Atza|sandbox-access-token",
    },
    "hubspot": {"access_token": "pat-na1-sandbox-token"},
    "klaviyo": {"api_key": "pk_sandbox_private_key"},
    "shipstation": {"api_key": "sandbox-key", "api_secret": "sandbox-secret"},
    "easypost": {"api_key": "EZTKsandbox"},
    "mailchimp": {"api_key": "sandboxkey-us1"},
}
