// What every op receives besides its data: cooperative cancellation and progress reporting.
#pragma once
#include <cstdint>
#include <functional>

namespace sparsescope {

struct CallContext {
  // Element 0 of the caller's shared Int32Array (or null): non-zero means "stop at the next check".
  const int32_t* cancelWord = nullptr;
  // Fraction done in [0, 1]; may be called from any thread, the binding throttles it.
  std::function<void(double)> progress;

  bool cancelled() const {
    // The word lives in a SharedArrayBuffer written by the JS thread: read it atomically.
    return cancelWord != nullptr && __atomic_load_n(cancelWord, __ATOMIC_RELAXED) != 0;
  }
  void report(double fraction) const {
    if (progress) progress(fraction);
  }
};

// The status string ops return when they stopped because of cancelWord; the binding turns it into
// an Error("cancelled").
inline constexpr const char* kCancelled = "cancelled";

}  // namespace sparsescope
