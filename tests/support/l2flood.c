/* l2flood: send 802.1Qbb PFC frames (and every Nth an LLDPDU) on an interface as fast
 * as one core can, through an AF_PACKET socket, counting exactly what the kernel took.
 *
 *   l2flood IFACE [--seconds S | --count N] [--lldp-every N] [--qdisc-bypass]
 *
 * One send() per frame, so every frame is accounted for: `sent` frames were accepted
 * (handed to the device: on a veth, queued to the peer), `enobufs` were refused by the
 * device (a veth counts them in tx_dropped; they never reach the peer), `errors` any
 * other failure. Prints one JSON line at the end. SIGTERM/SIGINT stop it early (the
 * counts are still printed). Used by tests/test_agent_flood.py and bench/bench_agent.py.
 *
 * Frames: PFC to 01:80:c2:00:00:01, ethertype 0x8808, opcode 0x0101, class-enable
 * vector 0x08 (priority 3), quanta 0xffff, padded to 60 bytes; the LLDPDU (ethertype
 * 0x88cc to 01:80:c2:00:00:0e) is always the same one neighbor (chassis id MAC, port id
 * "swp1", TTL 120, system name "flood-peer"), so it refreshes a neighbor rather than
 * adding detection rows.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const uint8_t src_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x0f, 0x01};

static size_t pfc_frame(uint8_t *f) {
  static const uint8_t dst[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x01};
  memset(f, 0, 60);
  memcpy(f, dst, 6);
  memcpy(f + 6, src_mac, 6);
  f[12] = 0x88, f[13] = 0x08;  /* MAC control */
  f[14] = 0x01, f[15] = 0x01;  /* PFC */
  f[16] = 0x00, f[17] = 0x08;  /* class-enable: priority 3 */
  f[18 + 2 * 3] = 0xff, f[18 + 2 * 3 + 1] = 0xff; /* priority 3 quanta 0xffff */
  return 60;
}

static size_t tlv(uint8_t *p, int type, const void *value, size_t len) {
  p[0] = (uint8_t)((type << 1) | (len >> 8));
  p[1] = (uint8_t)len;
  memcpy(p + 2, value, len);
  return 2 + len;
}

static size_t lldp_frame(uint8_t *f) {
  static const uint8_t dst[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e};
  size_t n = 0;
  memcpy(f, dst, 6);
  memcpy(f + 6, src_mac, 6);
  f[12] = 0x88, f[13] = 0xcc;
  n = 14;
  uint8_t chassis[7] = {4};  /* subtype 4: MAC address */
  memcpy(chassis + 1, src_mac, 6);
  n += tlv(f + n, 1, chassis, sizeof chassis);
  uint8_t port[5] = {5, 's', 'w', 'p', '1'};  /* subtype 5: interface name */
  n += tlv(f + n, 2, port, sizeof port);
  uint8_t ttl[2] = {0, 120};
  n += tlv(f + n, 3, ttl, sizeof ttl);
  n += tlv(f + n, 5, "flood-peer", 10);
  f[n++] = 0, f[n++] = 0;  /* End */
  if (n < 60) memset(f + n, 0, 60 - n), n = 60;
  return n;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s IFACE [--seconds S | --count N] [--lldp-every N] [--qdisc-bypass]\n", argv[0]);
    return 2;
  }
  const char *ifname = argv[1];
  double seconds = 0;
  unsigned long long count = 0, lldp_every = 0;
  int bypass = 0;
  for (int i = 2; i < argc; ++i) {
    if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--count") && i + 1 < argc) count = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--lldp-every") && i + 1 < argc) lldp_every = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--qdisc-bypass")) bypass = 1;
    else {
      fprintf(stderr, "l2flood: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (seconds <= 0 && count == 0) seconds = 5;
  unsigned ifindex = if_nametoindex(ifname);
  if (!ifindex) {
    perror(ifname);
    return 1;
  }
  /* Protocol 0: a send-only socket, nothing is queued for reading. */
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) {
    perror("AF_PACKET socket");
    return 1;
  }
  if (bypass) {
    int one = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) perror("PACKET_QDISC_BYPASS");
  }
  struct sockaddr_ll addr;
  memset(&addr, 0, sizeof addr);
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = (int)ifindex;
  addr.sll_halen = 6;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("bind");
    return 1;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);

  uint8_t pfc[64], lldp[128];
  size_t pfc_len = pfc_frame(pfc), lldp_len = lldp_frame(lldp);
  unsigned long long sent = 0, sent_pfc = 0, sent_lldp = 0, enobufs = 0, errors = 0, attempts = 0;
  int last_errno = 0;
  double t0 = mono(), end = seconds > 0 ? t0 + seconds : 0, t = t0;
  while (!stop) {
    if (count && attempts >= count) break;
    if (end && (attempts & 1023) == 0 && (t = mono()) >= end) break;
    int is_lldp = lldp_every && attempts % lldp_every == lldp_every - 1;
    ++attempts;
    ssize_t n = is_lldp ? send(fd, lldp, lldp_len, 0) : send(fd, pfc, pfc_len, 0);
    if (n >= 0) {
      ++sent;
      if (is_lldp) ++sent_lldp;
      else ++sent_pfc;
    } else if (errno == ENOBUFS) {
      ++enobufs;
    } else {
      ++errors;
      last_errno = errno;
      if (errno != EAGAIN && errno != EINTR) break;
    }
  }
  t = mono();
  printf("{\"attempts\":%llu,\"sent\":%llu,\"sent_pfc\":%llu,\"sent_lldp\":%llu,\"enobufs\":%llu,\"errors\":%llu,"
         "\"last_errno\":%d,\"seconds\":%.6f}\n",
         attempts, sent, sent_pfc, sent_lldp, enobufs, errors, last_errno, t - t0);
  return errors && last_errno != EAGAIN && last_errno != EINTR ? 1 : 0;
}
