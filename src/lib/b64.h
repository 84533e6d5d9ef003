/* b64.h - base64url (RFC 4648 §5, JOSE style: no padding) and standard base64.
 *
 * Decoders are strict: an alphabet violation, padding where none is allowed,
 * whitespace, or non-zero trailing bits is ST_INVALID. */
#ifndef GRANTD_LIB_B64_H
#define GRANTD_LIB_B64_H

#include <stddef.h>

#include "lib/str.h"

/* Exact encoded length of n bytes without padding. */
size_t b64url_encoded_len(size_t n);
/* Upper bound of decoded length of n characters. */
size_t b64_decoded_max(size_t n);

/* Writes the encoding of `in` to `out` (needs b64url_encoded_len(n) + 1
 * bytes, NUL-terminated). Returns the length written. */
size_t b64url_encode(const unsigned char *in, size_t n, char *out);
status b64url_encode_buf(struct buf *b, const unsigned char *in, size_t n);

/* Decodes unpadded base64url into out (capacity outcap). */
status b64url_decode(struct sv in, unsigned char *out, size_t outcap, size_t *outlen);

/* Decodes standard base64 (RFC 4648 §4, '=' padding required to a multiple of
 * 4); when `skip_ws` is true, ASCII whitespace between groups is ignored (PEM
 * bodies, pasted certificates). */
status b64std_decode(struct sv in, bool skip_ws, unsigned char *out, size_t outcap, size_t *outlen);

#endif
