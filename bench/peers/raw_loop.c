/* raw_loop: the limit for reading a pcap on one core.
 *
 * Reads the file with read() in 4 MiB blocks (a record cut by the block end is moved to
 * the front and completed by the next read), walks the records, and per frame does the
 * useful work of `flapwatch inspect`'s MAC-control part: count the ethertype (after any
 * 802.1Q / 802.1ad / 0x9100 tags); for PFC (0x8808 opcode 0x0101) add one frame and the
 * quanta to every priority whose class-enable bit is set; for PAUSE (opcode 0x0001) add
 * the quanta. No decoding beyond that, no allocation, no output per frame.
 *
 *   cc -O2 -o raw_loop raw_loop.c && ./raw_loop capture.pcap     -> one JSON object
 *
 * Plain pcap only (either byte order, µs or ns magic), link type Ethernet.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (4u << 20)
#define MAX_CAPLEN (256u << 10)

static uint64_t ethertypes[65536];
static uint64_t pfc_frames[8], pfc_quanta[8];
static uint64_t pause_frames, pause_quanta, short_frames;

static inline uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }

static inline uint32_t u32(const uint8_t *p, int swap) {
  uint32_t v;
  memcpy(&v, p, 4);
  return swap ? __builtin_bswap32(v) : v;
}

static inline void frame(const uint8_t *d, uint32_t n) {
  if (n < 14) {
    short_frames++;
    return;
  }
  uint32_t et = be16(d + 12), pos = 14;
  while ((et == 0x8100 || et == 0x88a8 || et == 0x9100) && pos + 4 <= n) {
    et = be16(d + pos + 2);
    pos += 4;
  }
  ethertypes[et]++;
  if (et != 0x8808 || pos + 4 > n) return;
  uint32_t opcode = be16(d + pos);
  if (opcode == 0x0101 && pos + 20 <= n) {
    uint32_t enable = d[pos + 3];  // low 8 bits of the class-enable vector
    const uint8_t *q = d + pos + 4;
    for (int i = 0; i < 8; i++) {
      uint64_t on = (enable >> i) & 1;
      pfc_frames[i] += on;
      pfc_quanta[i] += be16(q + 2 * i) & (0 - on);
    }
  } else if (opcode == 0x0001) {
    pause_frames++;
    pause_quanta += be16(d + pos + 2);
  }
}

static size_t fill(int fd, uint8_t *buf, size_t have, size_t cap) {
  while (have < cap) {
    ssize_t got = read(fd, buf + have, cap - have);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      perror("read");
      exit(2);
    }
    if (got == 0) break;
    have += (size_t)got;
  }
  return have;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CAPTURE.pcap\n", argv[0]);
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    perror(argv[1]);
    return 2;
  }
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  size_t cap = BLOCK + MAX_CAPLEN + 16;
  uint8_t *buf = malloc(cap);
  size_t end = fill(fd, buf, 0, cap), pos = 24;
  if (end < 24) {
    fprintf(stderr, "not a pcap file\n");
    return 2;
  }
  uint32_t magic;
  memcpy(&magic, buf, 4);
  int swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
  if (!swap && magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
    fprintf(stderr, "not a pcap file (magic %08x)\n", magic);
    return 2;
  }
  if ((u32(buf + 20, swap) & 0x0fffffff) != 1) {
    fprintf(stderr, "link type is not Ethernet\n");
    return 2;
  }
  uint64_t frames = 0, offset = 0;
  for (;;) {
    while (end - pos >= 16) {
      uint32_t caplen = u32(buf + pos + 8, swap);
      if (caplen > MAX_CAPLEN) {
        fprintf(stderr, "caplen %u too large at offset %llu\n", caplen, (unsigned long long)(offset + pos));
        return 2;
      }
      if (end - pos < 16 + (size_t)caplen) break;
      frame(buf + pos + 16, caplen);
      frames++;
      pos += 16 + caplen;
    }
    size_t have = end - pos;  // a partial record: move it to the front, read more
    memmove(buf, buf + pos, have);
    offset += pos;
    pos = 0;
    end = fill(fd, buf, have, have + BLOCK);
    if (end == have) break;
  }
  close(fd);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;

  printf("{\"frames\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"trailing_bytes\":%zu,\"short_frames\":%llu,\"ethertypes\":{",
         (unsigned long long)frames, (unsigned long long)(offset + end), seconds, end - pos,
         (unsigned long long)short_frames);
  const char *sep = "";
  for (int et = 0; et < 65536; et++)
    if (ethertypes[et]) {
      printf("%s\"0x%04x\":%llu", sep, et, (unsigned long long)ethertypes[et]);
      sep = ",";
    }
  printf("},\"pfc_per_priority\":[");
  for (int i = 0; i < 8; i++)
    printf("%s{\"priority\":%d,\"frames\":%llu,\"quanta_sum\":%llu}", i ? "," : "", i,
           (unsigned long long)pfc_frames[i], (unsigned long long)pfc_quanta[i]);
  printf("],\"pause_frames\":%llu,\"pause_quanta_sum\":%llu}\n", (unsigned long long)pause_frames,
         (unsigned long long)pause_quanta);
  free(buf);
  return 0;
}
