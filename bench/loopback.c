/*
 * loopback: what moving bytes through TCP on 127.0.0.1 costs this machine,
 * the part of cofferd's overhead that no server or client code can remove
 * when both run on the same cores.
 *
 *   loopback MIB
 *
 * One thread sends MIB MiB in 1 MiB writes, another receives them into a
 * 1 MiB buffer (both buffers stay in cache: a floor).  Prints
 * "loopback MIB MiB in W s wall, C s CPU" (CPU of both threads, user and
 * system).  Exit: 0, 1 on a socket error, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)

struct rx {
	int lfd;
	unsigned long long want, got;
	int failed;
};

static void *
receive(void *arg)
{
	struct rx *x = arg;
	char *buf = malloc(CHUNK);
	int fd = accept(x->lfd, NULL, NULL);

	if (buf == NULL || fd < 0) {
		x->failed = 1;
	} else {
		while (x->got < x->want) {
			ssize_t n = read(fd, buf, CHUNK);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				x->failed = 1;
				break;
			}
			x->got += (unsigned long long)n;
		}
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	struct rx x = {0};
	pthread_t th;
	unsigned long long sent = 0;
	unsigned long mib;
	double w0, c0;
	char *end, *buf;
	int fd;

	if (argc != 2 || (mib = strtoul(argv[1], &end, 10)) == 0 || *end ||
	    mib > (1ul << 20)) {
		fprintf(stderr, "usage: loopback MIB (1..1048576)\n");
		return 2;
	}
	x.want = (unsigned long long)mib * CHUNK;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((buf = calloc(1, CHUNK)) == NULL ||
	    (x.lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(x.lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(x.lfd, 1) != 0 ||
	    getsockname(x.lfd, (struct sockaddr *)&a, &alen) != 0 ||
	    (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		perror("loopback: socket");
		return 1;
	}
	w0 = now();
	c0 = cpu();
	if (pthread_create(&th, NULL, receive, &x) != 0) {
		fprintf(stderr, "loopback: cannot start a thread\n");
		return 1;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("loopback: connect");
		return 1;
	}
	while (sent < x.want) {
		size_t left = (size_t)(x.want - sent);
		ssize_t n =
		    send(fd, buf, left < CHUNK ? left : CHUNK, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("loopback: send");
			return 1;
		}
		sent += (unsigned long long)n;
	}
	pthread_join(th, NULL);
	if (x.failed) {
		fprintf(stderr, "loopback: receive failed\n");
		return 1;
	}
	printf("loopback %lu MiB in %.2f s wall, %.2f s CPU\n", mib, now() - w0,
	    cpu() - c0);
	close(fd);
	close(x.lfd);
	free(buf);
	return 0;
}
