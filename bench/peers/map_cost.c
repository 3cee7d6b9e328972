/* What mapping a file costs, window by window, as flapwatch's reader maps it
   (cpp/src/io/block_buffer.cpp): each 16 MiB window at a 2 MiB-aligned address, populated
   with MADV_POPULATE_READ, then unmapped. Prints a JSON list: µs per MiB of each window.
   Usage: map_cost FILE */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return 1;
  const size_t win = (size_t)16 << 20, align = (size_t)2 << 20;
  printf("[");
  for (off_t off = 0; off + (off_t)win <= st.st_size; off += win) {
    char* room = mmap(NULL, win + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (room == MAP_FAILED) return 1;
    uintptr_t at = ((uintptr_t)room + align - 1) & ~(uintptr_t)(align - 1);
    double t = now();
    char* m = mmap((void*)at, win, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, off);
    if (m == MAP_FAILED) return 1;
    madvise(m, win, MADV_POPULATE_READ);
    munmap(m, win);
    printf("%s%.1f", off ? ", " : "", (now() - t) * 1e6 / 16);
    munmap(room, win + align);
  }
  printf("]\n");
  return 0;
}
