// agent_latency: how long a link change takes to reach a flapwatch::LiveAgent callback.
//
// Run inside the agent's network namespace; the peer end of the veth is in another
// namespace (different ifindexes, so the kernel notifies every carrier change at once):
//
//   ip netns exec HOST agent_latency --peer-netns SW --peer-if swp1 --if eth0 --flaps 200
//
// A helper process (forked before the agent's threads start) setns()es into the peer
// namespace and, on a one-byte command through a pipe, toggles IFF_UP on the peer with
// ioctl(SIOCSIFFLAGS), sending back CLOCK_REALTIME read just before and just after the
// ioctl. The peer going down takes our end's carrier down; up brings it back.
//
// The agent runs with one extra flap policy, a window of 1 flap in 1 ms: it trips at
// every down, so the down message has a callback of its own (policy_event, ts_ns = the
// record's time); the up message's callback is the flap row (ts_ns = the up record's
// time). A netlink record's time is CLOCK_REALTIME read right after recv() returned
// (netlink has no kernel receive timestamp; this program checks that SO_TIMESTAMPNS
// delivers none on a NETLINK_ROUTE socket and reports it as "netlink_kernel_timestamp").
//
// For every down and up it records: issue (before the ioctl), ioctl_done (after it),
// recv (the record's ts_ns), callback (CLOCK_REALTIME at the callback's start, tracker
// thread). Prints one JSON object on stdout; bench/bench_agent.py computes the figures.
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <flapwatch/live/live_agent.hpp>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "agent_latency: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

struct Reply {
  int64_t before, after;
  int32_t err;
};

// The helper: lives in the peer namespace, toggles IFF_UP on command.
[[noreturn]] void helper(const std::string& netns, const std::string& ifname, int cmd_fd, int reply_fd) {
  std::string path = "/run/netns/" + netns;
  int nsfd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) die("open " + path);
  if (setns(nsfd, CLONE_NEWNET) < 0) die("setns " + path);
  close(nsfd);
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) die("socket in the peer namespace");
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname.c_str());
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) die("SIOCGIFFLAGS " + ifname);
  short up_flags = static_cast<short>(ifr.ifr_flags | IFF_UP), down_flags = static_cast<short>(ifr.ifr_flags & ~IFF_UP);
  for (;;) {
    char c;
    ssize_t n = read(cmd_fd, &c, 1);
    if (n <= 0 || c == 'q') _exit(0);
    ifr.ifr_flags = c == 'u' ? up_flags : down_flags;
    Reply r{};
    r.before = now_ns();
    r.err = ioctl(sock, SIOCSIFFLAGS, &ifr) < 0 ? errno : 0;
    r.after = now_ns();
    if (write(reply_fd, &r, sizeof r) != static_cast<ssize_t>(sizeof r)) _exit(1);
  }
}

// Does a NETLINK_ROUTE socket deliver SCM_TIMESTAMPNS? Subscribed to RTMGRP_LINK with
// SO_TIMESTAMPNS on; the caller reads it after a link change.
struct TimestampProbe {
  int fd = -1;
  bool seen_message = false, seen_timestamp = false;
  TimestampProbe() {
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) die("netlink probe socket");
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0) die("SO_TIMESTAMPNS on netlink");
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = RTMGRP_LINK;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) die("netlink probe bind");
  }
  void drain() {
    alignas(8) char buf[1 << 16], ctl[512];
    for (;;) {
      iovec iov{buf, sizeof buf};
      msghdr m{};
      m.msg_iov = &iov;
      m.msg_iovlen = 1;
      m.msg_control = ctl;
      m.msg_controllen = sizeof ctl;
      if (recvmsg(fd, &m, 0) <= 0) return;
      seen_message = true;
      for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && (c->cmsg_type == SCM_TIMESTAMPNS || c->cmsg_type == SCM_TIMESTAMP))
          seen_timestamp = true;
    }
  }
};

struct Event {
  char kind;  // 'd' down, 'u' up
  int64_t issue = -1, ioctl_done = -1, recv = -1, callback = -1;
};

struct Seen {  // filled on the tracker thread
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int64_t, int64_t>> downs, ups;  // (record ts, callback time)
};

void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --peer-netns NS --peer-if IF --if IF [--flaps N] [--gap-ms MS] [--timeout-ms MS] "
               "[--no-capture]\n",
               argv0);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string peer_ns, peer_if, iface;
  int flaps = 200, gap_ms = 20, timeout_ms = 2000;
  bool capture = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(argv[0]);
      return argv[++i];
    };
    if (a == "--peer-netns") peer_ns = next();
    else if (a == "--peer-if") peer_if = next();
    else if (a == "--if") iface = next();
    else if (a == "--flaps") flaps = std::atoi(next().c_str());
    else if (a == "--gap-ms") gap_ms = std::atoi(next().c_str());
    else if (a == "--timeout-ms") timeout_ms = std::atoi(next().c_str());
    else if (a == "--no-capture") capture = false;
    else usage(argv[0]);
  }
  if (peer_ns.empty() || peer_if.empty() || iface.empty()) usage(argv[0]);

  // The helper first, before any thread exists.
  int cmd[2], rep[2];
  if (pipe2(cmd, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) die("pipe");
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    close(cmd[1]);
    close(rep[0]);
    helper(peer_ns, peer_if, cmd[0], rep[1]);
  }
  close(cmd[0]);
  close(rep[1]);
  auto toggle = [&](char c) {
    if (write(cmd[1], &c, 1) != 1) die("command pipe");
    Reply r;
    if (read(rep[0], &r, sizeof r) != static_cast<ssize_t>(sizeof r)) die("helper died");
    if (r.err) {
      errno = r.err;
      die(std::string("SIOCSIFFLAGS ") + c);
    }
    return r;
  };

  TimestampProbe probe;

  flapwatch::EngineConfig cfg;
  cfg.link.windows = {{"bench-down", 1, 1'000'000}};  // trips at every down: the down's own callback
  cfg.link.dampening.clear();
  flapwatch::LiveOptions opts;
  if (capture) opts.interfaces = {iface};
  flapwatch::LiveAgent agent(cfg, opts);
  const int32_t port = agent.strings().intern(iface);
  const int32_t policy = agent.strings().intern("bench-down");  // interned by the engine already
  Seen seen;
  agent.set_callback([&](flapwatch::DetectionKind kind, const flapwatch::Detections& d, size_t row) {
    int64_t t = now_ns();
    if (kind == flapwatch::DetectionKind::flap && d.flaps.port[row] == port && !d.flaps.hidden[row]) {
      std::lock_guard<std::mutex> g(seen.mu);
      seen.ups.emplace_back(d.flaps.ts_ns[row], t);
      seen.cv.notify_all();
    } else if (kind == flapwatch::DetectionKind::policy_event && d.policy_events.port[row] == port &&
               d.policy_events.policy[row] == policy && d.policy_events.event[row] == 1) {
      std::lock_guard<std::mutex> g(seen.mu);
      seen.downs.emplace_back(d.policy_events.ts_ns[row], t);
      seen.cv.notify_all();
    }
  });
  agent.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the initial dump is in

  std::vector<Event> events;
  int missed = 0;
  size_t want_down = 0, want_up = 0;
  auto wait_for = [&](std::vector<std::pair<int64_t, int64_t>>& list, size_t want, Event& ev) {
    std::unique_lock<std::mutex> lk(seen.mu);
    bool ok = seen.cv.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return list.size() > want; });
    if (!ok) return false;
    ev.recv = list[want].first;
    ev.callback = list[want].second;
    return true;
  };
  auto t_start = std::chrono::steady_clock::now();
  for (int i = 0; i < flaps; ++i) {
    for (char c : {'d', 'u'}) {
      Event ev;
      ev.kind = c;
      Reply r = toggle(c);
      ev.issue = r.before;
      ev.ioctl_done = r.after;
      auto& list = c == 'd' ? seen.downs : seen.ups;
      size_t& want = c == 'd' ? want_down : want_up;
      if (wait_for(list, want, ev)) {
        ++want;
      } else {
        ++missed;
        // Resynchronise: anything that arrives late is not this event's.
        std::lock_guard<std::mutex> g(seen.mu);
        want = list.size();
      }
      events.push_back(ev);
      probe.drain();
      std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  agent.stop();
  auto st = agent.stats();
  char q = 'q';
  (void)!write(cmd[1], &q, 1);
  waitpid(child, nullptr, 0);

  std::printf("{\"flaps\":%d,\"gap_ms\":%d,\"seconds\":%.3f,\"missed\":%d,\"capture\":%s,", flaps, gap_ms, seconds,
              missed, capture ? "true" : "false");
  std::printf("\"netlink_kernel_timestamp\":%s,\"probe_saw_messages\":%s,", probe.seen_timestamp ? "true" : "false",
              probe.seen_message ? "true" : "false");
  std::printf("\"stats\":{\"frames\":%llu,\"records\":%llu,\"ring_dropped\":%llu,\"kernel_drops\":%llu,"
              "\"netlink_overruns\":%llu},",
              (unsigned long long)st.frames, (unsigned long long)st.records, (unsigned long long)st.ring_dropped,
              (unsigned long long)st.kernel_drops, (unsigned long long)st.netlink_overruns);
  std::printf("\"events\":[");
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    std::printf("%s[\"%c\",%lld,%lld,%lld,%lld]", i ? "," : "", e.kind, (long long)e.issue, (long long)e.ioctl_done,
                (long long)e.recv, (long long)e.callback);
  }
  std::printf("],\"event_fields\":[\"kind\",\"issue\",\"ioctl_done\",\"recv\",\"callback\"]}\n");
  return 0;
}
