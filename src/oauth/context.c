#include "oauth/context.h"

status oauth_keyed_hash(const struct oauth_ctx *c, struct sv value, unsigned char out[SHA256_LEN])
{
	return hmac_sha256(c->secret, sizeof c->secret, value.p, value.n, out);
}
