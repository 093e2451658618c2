/* noifaddrs.so: getifaddrs() fails as it does in a sandbox without AF_NETLINK (LD_PRELOAD, tests only). */
#include <errno.h>
#include <ifaddrs.h>

int getifaddrs(struct ifaddrs **ifap)
{
        errno = EAFNOSUPPORT;
        return -1;
}
