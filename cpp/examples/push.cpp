// Pushing an embedder's own events into flapwatch from C++ (no Python): link events and
// counter samples from a source flapwatch does not read itself (a vendor SDK, SAI port-state
// notifications, a switch's counter database) go through the push API, into the same
// trackers as netlink messages and the agent's own counter reads; every detection is
// printed as a line. This example drives an Engine on its own thread (offline, or an
// embedder with its own loop); a running LiveAgent takes the same LinkEvent and
// CounterSample through agent.push_link() / agent.push_counters(), from any thread.
//
//   build: cmake -S cpp/examples -B build/example -DCMAKE_PREFIX_PATH=<flapwatch prefix>
//   run:   ./build/example/flapwatch_example_push events.txt     (or - for stdin)
//
// The input, one event a line, in time order ('#' starts a comment):
//   link TS_NS IFACE up|down [CARRIER_CHANGES [UP_COUNT DOWN_COUNT]]
//   sample TS_NS IFACE REFRESH_NS [MEANING:DIR:PRIO:UNIT:WIDTH=VALUE ...]
// MEANING is a flapwatch::kCounterMeaningNames name (pfc_pause_us, pfc_frames,
// link_down_events, ...; python/flapwatch/counters/profiles.py says which driver counter
// is which), DIR rx, tx or -, PRIO 0..7 or -1, UNIT frames, us or events, WIDTH 32 or 64:
// the embedder classifies its own counters, as a driver profile would.
#include <flapwatch/engine.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

template <size_t N>
int index_of(const char* const (&names)[N], const std::string& s) {
  for (size_t i = 0; i < N; ++i)
    if (s == names[i]) return static_cast<int>(i);
  return -1;
}

// MEANING:DIR:PRIO:UNIT:WIDTH=VALUE
bool parse_value(const std::string& tok, flapwatch::CounterValue& v) {
  std::string f[5];
  size_t eq = tok.find('='), pos = 0;
  if (eq == std::string::npos) return false;
  for (int i = 0; i < 5; ++i) {
    size_t end = i < 4 ? tok.find(':', pos) : eq;
    if (end == std::string::npos || end > eq) return false;
    f[i] = tok.substr(pos, end - pos);
    pos = end + 1;
  }
  int meaning = index_of(flapwatch::kCounterMeaningNames, f[0]);
  int unit = index_of(flapwatch::kCounterUnitNames, f[3]);
  if (meaning < 0 || unit < 0) return false;
  v.meaning = static_cast<flapwatch::CounterMeaning>(meaning);
  v.direction = f[1] == "rx" ? flapwatch::kDirRx : f[1] == "tx" ? flapwatch::kDirTx : flapwatch::kDirNone;
  v.priority = static_cast<int8_t>(std::stoi(f[2]));
  v.unit = static_cast<flapwatch::CounterUnit>(unit);
  v.width = static_cast<uint8_t>(std::stoi(f[4]));
  v.value = std::stoull(tok.substr(eq + 1));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s EVENTS.txt|-\n", argv[0]);
    return 2;
  }
  std::ifstream file;
  if (std::strcmp(argv[1], "-") != 0) {
    file.open(argv[1]);
    if (!file) {
      std::fprintf(stderr, "cannot open %s\n", argv[1]);
      return 1;
    }
  }
  std::istream& in = std::strcmp(argv[1], "-") != 0 ? file : std::cin;

  flapwatch::EngineConfig cfg;  // vendor defaults: 5-in-10s errdisable, IOS dampening, pfcwd 200/200 ms
  flapwatch::StringTable names;
  flapwatch::Engine engine(cfg, names);
  engine.set_callback([&names](flapwatch::DetectionKind kind, const flapwatch::Detections& d, size_t row) {
    auto ll = [](int64_t x) { return static_cast<long long>(x); };
    switch (kind) {
      case flapwatch::DetectionKind::flap:
        std::printf("flap port=%s down_ns=%lld up_ns=%lld duration_ns=%lld hidden=%d source=%s\n",
                    names[d.flaps.port[row]].c_str(), ll(d.flaps.down_ns[row]), ll(d.flaps.up_ns[row]),
                    ll(d.flaps.duration_ns[row]), d.flaps.hidden[row],
                    flapwatch::kFlapSourceNames[d.flaps.source[row]]);
        break;
      case flapwatch::DetectionKind::link_down:
        std::printf("link_down port=%s down_ns=%lld\n", names[d.link_down.port[row]].c_str(),
                    ll(d.link_down.down_ns[row]));
        break;
      case flapwatch::DetectionKind::policy_event:
        std::printf("policy port=%s policy=%s event=%s ts_ns=%lld\n", names[d.policy_events.port[row]].c_str(),
                    names[d.policy_events.policy[row]].c_str(), d.policy_events.event[row] ? "trip" : "clear",
                    ll(d.policy_events.ts_ns[row]));
        break;
      case flapwatch::DetectionKind::pfc_storm:
        std::printf("pfc_storm port=%s priority=%d start_ns=%lld end_ns=%lld paused_ns=%lld frames=%lld\n",
                    names[d.pfc_storms.port[row]].c_str(), d.pfc_storms.priority[row], ll(d.pfc_storms.start_ns[row]),
                    ll(d.pfc_storms.end_ns[row]), ll(d.pfc_storms.paused_ns[row]), ll(d.pfc_storms.frames[row]));
        break;
      default:
        break;  // pause statistics, LLDP: not pushed by this example
    }
  });

  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream ss(line);
    std::string what;
    if (!(ss >> what)) continue;
    try {
      if (what == "link") {
        flapwatch::LinkEvent e;
        std::string state;
        ss >> e.ts_ns >> e.interface >> state;
        if (!ss || (state != "up" && state != "down")) throw std::invalid_argument("link TS IFACE up|down");
        e.up = state == "up";
        int64_t* counts[] = {&e.carrier_changes, &e.carrier_up_count, &e.carrier_down_count};  // optional: -1
        std::string tok;
        for (int64_t* c : counts)
          if (ss >> tok) *c = std::stoll(tok);
        engine.on_link_event(e);
      } else if (what == "sample") {
        flapwatch::CounterSample s;
        ss >> s.ts_ns >> s.interface >> s.refresh_ns;
        if (!ss) throw std::invalid_argument("sample TS IFACE REFRESH_NS VALUES...");
        for (std::string tok; ss >> tok;) {
          flapwatch::CounterValue v;
          if (!parse_value(tok, v)) throw std::invalid_argument("not MEANING:DIR:PRIO:UNIT:WIDTH=VALUE: " + tok);
          s.values.push_back(v);
        }
        engine.on_counter_sample(s);
      } else {
        throw std::invalid_argument("unknown event " + what);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "line %d: %s\n", lineno, e.what());
      return 1;
    }
  }
  engine.finish();
  for (const auto& n : engine.counter_notices()) std::fprintf(stderr, "notice: %s\n", n.c_str());
  return 0;
}
