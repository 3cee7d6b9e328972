// A minimal switch-side agent embedding flapwatch from C++ (no Python): it watches
// netlink link messages and PFC/LLDP on the given interfaces, prints every detection
// as a line, and stops after a number of seconds or on SIGINT/SIGTERM.
//
//   build: cmake -S cpp/examples -B build/example -DCMAKE_PREFIX_PATH=<flapwatch prefix>
//   run:   ./build/example/flapwatch_example_agent 10 eth0
#include <flapwatch/live/live_agent.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {
volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) { stop_requested = 1; }
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s SECONDS [IFACE...]\n", argv[0]);
    return 2;
  }
  double seconds = std::atof(argv[1]);
  flapwatch::LiveOptions opts;
  for (int i = 2; i < argc; ++i) opts.interfaces.emplace_back(argv[i]);
  flapwatch::EngineConfig cfg;  // vendor defaults: 5-in-10s errdisable, IOS dampening, pfcwd 200/200 ms

  flapwatch::LiveAgent agent(cfg, opts);
  flapwatch::StringTable& names = agent.strings();
  agent.set_callback([&names](flapwatch::DetectionKind kind, const flapwatch::Detections& d, size_t row) {
    switch (kind) {
      case flapwatch::DetectionKind::flap:
        std::printf("flap port=%s down_ns=%lld duration_ns=%lld hidden=%d\n", names[d.flaps.port[row]].c_str(),
                    static_cast<long long>(d.flaps.down_ns[row]), static_cast<long long>(d.flaps.duration_ns[row]),
                    d.flaps.hidden[row]);
        break;
      case flapwatch::DetectionKind::link_down:
        std::printf("link_down port=%s down_ns=%lld\n", names[d.link_down.port[row]].c_str(),
                    static_cast<long long>(d.link_down.down_ns[row]));
        break;
      case flapwatch::DetectionKind::policy_event:
        std::printf("policy port=%s policy=%s event=%s\n", names[d.policy_events.port[row]].c_str(),
                    names[d.policy_events.policy[row]].c_str(), d.policy_events.event[row] ? "trip" : "clear");
        break;
      case flapwatch::DetectionKind::lldp_event:
        std::printf("lldp port=%s event=%s\n", names[d.lldp_events.port[row]].c_str(),
                    flapwatch::kLldpEventNames[d.lldp_events.event[row]]);
        break;
      default:
        break;
    }
    std::fflush(stdout);
  });
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  agent.start();
  for (int ms = 0; ms < seconds * 1000 && !stop_requested; ms += 20)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  agent.stop();
  auto s = agent.stats();
  std::printf("stopped frames=%llu records=%llu dropped=%llu\n", static_cast<unsigned long long>(s.frames),
              static_cast<unsigned long long>(s.records), static_cast<unsigned long long>(s.ring_dropped));
  return 0;
}
