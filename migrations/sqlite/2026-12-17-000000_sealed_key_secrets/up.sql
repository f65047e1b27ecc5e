-- Each key's secret sealed under the pepper (ChaCha20-Poly1305), for the EC2 endpoint's
-- SigV4, which signs with the secret itself. Keys made before have none: they keep
-- authenticating REST requests, and sign no EC2 request until a new key replaces them.
ALTER TABLE api_keys ADD COLUMN secret_sealed TEXT;
