/* net.c - see net.h. */
#include "lib/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static size_t from_v6(const unsigned char a[16], unsigned char out[NET_SOURCE_MAX])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (memcmp(a, mapped, sizeof mapped) == 0) {
		memcpy(out, a + 12, 4);
		return 4;
	}
	memcpy(out, a, 8);
	return 8;
}

size_t net_source(const struct sockaddr *sa, unsigned char out[NET_SOURCE_MAX])
{
	if (sa != NULL && sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa != NULL && sa->sa_family == AF_INET6)
		return from_v6(((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr,
			       out);
	return 0;
}

size_t net_source_text(const char *addr, unsigned char out[NET_SOURCE_MAX])
{
	unsigned char a[16];

	if (addr != NULL && inet_pton(AF_INET, addr, a) == 1) {
		memcpy(out, a, 4);
		return 4;
	}
	if (addr != NULL && inet_pton(AF_INET6, addr, a) == 1)
		return from_v6(a, out);
	return 0;
}
