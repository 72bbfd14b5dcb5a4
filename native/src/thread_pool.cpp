#include "thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace sparsescope {
namespace {

struct Loop {
  int count = 0;
  const std::function<void(int)>* task = nullptr;
  const CallContext* ctx = nullptr;
  std::atomic<int> next{0};
  std::atomic<int> progressed{0};  // counted before `finished` so ctx is still alive when reporting
  std::atomic<int> finished{0};
  std::atomic<bool> stopped{false};
  std::mutex doneMutex;
  std::condition_variable done;

  // Claims and runs tasks until none are left; returns when this thread has nothing more to do.
  void work() {
    for (;;) {
      const int i = next.fetch_add(1);
      if (i >= count) return;
      if (!stopped.load(std::memory_order_relaxed) && ctx->cancelled()) stopped = true;
      if (!stopped.load(std::memory_order_relaxed)) (*task)(i);
      const int progressedNow = progressed.fetch_add(1) + 1;
      if (!stopped.load(std::memory_order_relaxed)) ctx->report(double(progressedNow) / count);
      if (finished.fetch_add(1) + 1 == count) {
        std::lock_guard lock(doneMutex);
        done.notify_all();
      }
    }
  }
};

class Pool {
 public:
  Pool() {
    const unsigned hardware = std::thread::hardware_concurrency();
    const int helpers = int(hardware > 1 ? hardware - 1 : 0);  // the caller is the last worker
    for (int t = 0; t < helpers; ++t) threads_.emplace_back([this] { serve(); });
  }
  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      shuttingDown_ = true;
    }
    wake_.notify_all();
    for (auto& thread : threads_) thread.join();
  }
  int size() const { return int(threads_.size()) + 1; }

  void run(const std::shared_ptr<Loop>& loop) {
    {
      std::lock_guard lock(mutex_);
      loops_.push_back(loop);
    }
    wake_.notify_all();
    loop->work();
    std::unique_lock lock(loop->doneMutex);
    loop->done.wait(lock, [&] { return loop->finished.load() == loop->count; });
  }

 private:
  void serve() {
    for (;;) {
      std::shared_ptr<Loop> loop;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return shuttingDown_ || !loops_.empty(); });
        if (shuttingDown_) return;
        loop = loops_.front();
        // A loop whose tasks are all claimed leaves the queue; its runner waits for the rest.
        if (loop->next.load() >= loop->count) {
          loops_.pop_front();
          continue;
        }
      }
      loop->work();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Loop>> loops_;
  bool shuttingDown_ = false;
};

Pool& pool() {
  static Pool instance;
  return instance;
}

}  // namespace

int workerCount() { return pool().size(); }

bool parallelFor(int count, const std::function<void(int)>& task, const CallContext& ctx) {
  if (count <= 0) return !ctx.cancelled();
  auto loop = std::make_shared<Loop>();
  loop->count = count;
  loop->task = &task;
  loop->ctx = &ctx;
  pool().run(loop);
  return !loop->stopped.load();
}

}  // namespace sparsescope
