/* net.h - a client address reduced to what one client holds: an IPv4
 * address whole (also when it arrives IPv4-mapped, ::ffff:a.b.c.d), an
 * IPv6 address by its /64 (a host is usually given a whole /64). The
 * per-address connection cap and the per-source rate limit key on it
 * (docs/security.md, "Slow clients", "Rate limits"). */
#ifndef GRANTD_LIB_NET_H
#define GRANTD_LIB_NET_H

#include <stddef.h>
#include <sys/socket.h>

#define NET_SOURCE_MAX 8

/* The source bytes of `sa` in `out`; their count (4 or 8), 0 for NULL or
 * another family. */
size_t net_source(const struct sockaddr *sa, unsigned char out[NET_SOURCE_MAX]);
/* The same from a textual address ("192.0.2.1", "2001:db8::1"); 0 when it
 * is not one. */
size_t net_source_text(const char *addr, unsigned char out[NET_SOURCE_MAX]);

#endif
