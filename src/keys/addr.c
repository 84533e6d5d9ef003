/* addr.c - the address classes of addr.h (IANA special-purpose address
 * registries, RFC 6890 and its updates). */
#include "keys/addr.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

static enum keys_addr classify4(const unsigned char *a)
{
	uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
	static const struct {
		uint32_t net;
		unsigned bits;
		enum keys_addr c;
	} t[] = {
	    {0x00000000u, 8, KEYS_ADDR_UNSPECIFIED}, /* 0/8 "this network" */
	    {0x0a000000u, 8, KEYS_ADDR_PRIVATE},     /* 10/8 */
	    {0x64400000u, 10, KEYS_ADDR_CGNAT},      /* 100.64/10 */
	    {0x7f000000u, 8, KEYS_ADDR_LOOPBACK},    /* 127/8 */
	    {0xa9fe0000u, 16, KEYS_ADDR_LINK_LOCAL}, /* 169.254/16 */
	    {0xac100000u, 12, KEYS_ADDR_PRIVATE},    /* 172.16/12 */
	    {0xc0000000u, 24, KEYS_ADDR_RESERVED},   /* 192.0.0/24 IETF protocols */
	    {0xc0000200u, 24, KEYS_ADDR_RESERVED},   /* 192.0.2/24 TEST-NET-1 */
	    {0xc0586300u, 24, KEYS_ADDR_RESERVED},   /* 192.88.99/24 6to4 relay */
	    {0xc0a80000u, 16, KEYS_ADDR_PRIVATE},    /* 192.168/16 */
	    {0xc6120000u, 15, KEYS_ADDR_RESERVED},   /* 198.18/15 benchmarking */
	    {0xc6336400u, 24, KEYS_ADDR_RESERVED},   /* 198.51.100/24 TEST-NET-2 */
	    {0xcb007100u, 24, KEYS_ADDR_RESERVED},   /* 203.0.113/24 TEST-NET-3 */
	    {0xe0000000u, 4, KEYS_ADDR_MULTICAST},   /* 224/4 */
	    {0xf0000000u, 4, KEYS_ADDR_RESERVED},    /* 240/4, 255.255.255.255 */
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if ((v >> (32 - t[i].bits)) == (t[i].net >> (32 - t[i].bits)))
			return t[i].c;
	return KEYS_ADDR_PUBLIC;
}

static bool zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static enum keys_addr classify6(const unsigned char *a)
{
	static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};

	if (zero(a, 10) && a[10] == 0xff && a[11] == 0xff)
		return classify4(a + 12); /* ::ffff:a.b.c.d (IPv4-mapped) */
	if (zero(a, 12)) {
		if (zero(a + 12, 3) && a[15] <= 1)
			return a[15] == 0 ? KEYS_ADDR_UNSPECIFIED : KEYS_ADDR_LOOPBACK;
		return classify4(a + 12); /* ::a.b.c.d (IPv4-compatible) */
	}
	if (memcmp(a, nat64, 12) == 0)
		return classify4(a + 12); /* 64:ff9b::/96 (NAT64) */
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && a[4] == 0x00 &&
	    a[5] == 0x01)
		return KEYS_ADDR_PRIVATE; /* 64:ff9b:1::/48 (local NAT64) */
	if (a[0] == 0x20 && a[1] == 0x02)
		return classify4(a + 2); /* 2002::/16 (6to4) */
	if ((a[0] & 0xfe) == 0xfc)
		return KEYS_ADDR_PRIVATE; /* fc00::/7 (unique local) */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return KEYS_ADDR_LINK_LOCAL; /* fe80::/10 */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
		return KEYS_ADDR_PRIVATE; /* fec0::/10 (site-local, deprecated) */
	if (a[0] == 0xff)
		return KEYS_ADDR_MULTICAST;
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
		return KEYS_ADDR_RESERVED; /* 2001:db8::/32 (documentation) */
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x00 && a[3] == 0x00)
		return KEYS_ADDR_RESERVED; /* 2001::/32 (Teredo: embeds an IPv4) */
	if (a[0] == 0x01 && a[1] == 0x00 && zero(a + 2, 6))
		return KEYS_ADDR_RESERVED; /* 100::/64 (discard-only) */
	if ((a[0] & 0xe0) != 0x20)
		return KEYS_ADDR_RESERVED; /* outside 2000::/3, the global unicast space */
	return KEYS_ADDR_PUBLIC;
}

enum keys_addr keys_addr_classify(const unsigned char *addr, size_t len)
{
	if (addr == NULL)
		return KEYS_ADDR_RESERVED;
	if (len == 4)
		return classify4(addr);
	if (len == 16)
		return classify6(addr);
	return KEYS_ADDR_RESERVED;
}

const char *keys_addr_name(enum keys_addr c)
{
	static const char *const names[KEYS_ADDR_N] = {
	    "public",         "unspecified", "loopback",  "private",
	    "shared (CGNAT)", "link-local",  "multicast", "reserved",
	};
	return (unsigned)c < KEYS_ADDR_N ? names[c] : "reserved";
}

bool keys_addr_literal(const char *host, enum keys_addr *out)
{
	unsigned char a[16];
	char tmp[64];
	size_t n;

	if (host == NULL)
		return false;
	n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		if (n - 2 >= sizeof tmp)
			return false;
		memcpy(tmp, host + 1, n - 2);
		tmp[n - 2] = '\0';
		host = tmp;
	}
	if (inet_pton(AF_INET, host, a) == 1) {
		*out = classify4(a);
		return true;
	}
	if (inet_pton(AF_INET6, host, a) == 1) {
		*out = classify6(a);
		return true;
	}
	return false;
}
