-- Scoped, expiring tokens (issue 17). Tokens made before scopes existed keep full rights:
-- `admin` covers every scope.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'admin';
-- The first characters of the secret, so a listed token can be told apart without its secret.
ALTER TABLE api_tokens ADD COLUMN prefix TEXT;
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
-- Written at most once a minute per token, so authentication stays a read.
ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;
