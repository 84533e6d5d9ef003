/* addr.h - which network addresses a JWKS fetch may connect to
 * (docs/security.md, "JWKS hosts").
 *
 * A pure classifier over raw address bytes, so that the same rule is
 * applied to an IP literal in a JWKS URI (at the admin API) and to every
 * address libcurl is about to connect to (after DNS, so a name that
 * resolves, or later rebinds, to an internal address is caught too). */
#ifndef GRANTD_KEYS_ADDR_H
#define GRANTD_KEYS_ADDR_H

#include <stdbool.h>
#include <stddef.h>

enum keys_addr {
	KEYS_ADDR_PUBLIC,      /* globally routable unicast */
	KEYS_ADDR_UNSPECIFIED, /* 0.0.0.0/8, :: */
	KEYS_ADDR_LOOPBACK,    /* 127.0.0.0/8, ::1 */
	KEYS_ADDR_PRIVATE,     /* RFC 1918, fc00::/7, fec0::/10 */
	KEYS_ADDR_CGNAT,       /* 100.64.0.0/10 (RFC 6598) */
	KEYS_ADDR_LINK_LOCAL,  /* 169.254.0.0/16 (cloud metadata), fe80::/10 */
	KEYS_ADDR_MULTICAST,   /* 224.0.0.0/4, ff00::/8 */
	KEYS_ADDR_RESERVED,    /* documentation, benchmarking, 240/4, broadcast,
				* IETF protocol ranges, discard-only, Teredo */
	KEYS_ADDR_N
};

/* The class of an IPv4 (`len` 4) or IPv6 (`len` 16) address in network
 * byte order. IPv6 forms that embed an IPv4 address (::ffff:a.b.c.d,
 * ::a.b.c.d, 64:ff9b::a.b.c.d, 2002:AABB:CCDD::) take the class of the
 * embedded address; 64:ff9b:1::/48 (local NAT64) is private. Any other
 * `len` is KEYS_ADDR_RESERVED. */
enum keys_addr keys_addr_classify(const unsigned char *addr, size_t len);

/* "loopback", "private", ... ("public" for KEYS_ADDR_PUBLIC). */
const char *keys_addr_name(enum keys_addr c);

/* The class of a textual IP literal ("10.0.0.1", "[::1]" or "::1"); false
 * when `host` is not an IP literal (a DNS name). */
bool keys_addr_literal(const char *host, enum keys_addr *out);

#endif
