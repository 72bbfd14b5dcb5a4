// N-API bindings of the native module: the NativeModule of electron/engine/native-api.ts.
// Every op validates its arguments on the JS thread (TypeError / RangeError naming the argument,
// delivered as a rejected promise), runs on an AsyncWorker off the JS thread, reports progress
// through a throttled ThreadSafeFunction, stops cooperatively when control.cancel[0] != 0, and
// copies its results into JS-owned typed arrays. Backend 'cuda' dispatches to cuda_backend.h.
#include <napi.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "attention_inputs.h"
#include "call_context.h"
#include "cuda_backend.h"
#include "index_format.h"
#include "ops/dense_attention.h"
#include "ops/flexprefill_index.h"
#include "ops/output_error.h"
#include "ops/pooled_map.h"
#include "ops/recall.h"
#include "ops/sparse_attention.h"
#include "ops/sparse_index.h"
#include "ops/xattention_index.h"
#include "thread_pool.h"

namespace sparsescope {
namespace {

// ---------------------------------------------------------------------------------------------
// Argument parsing. Each helper throws a Napi TypeError/RangeError that names the argument.

[[noreturn]] void throwType(Napi::Env env, const std::string& message) { throw Napi::TypeError::New(env, message); }
[[noreturn]] void throwRange(Napi::Env env, const std::string& message) { throw Napi::RangeError::New(env, message); }

Napi::Object requireObject(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (!value.IsObject()) throwType(env, name + " must be an object");
  return value.As<Napi::Object>();
}

int requireInt(Napi::Env env, const Napi::Object& object, const std::string& owner, const char* key, int64_t min,
               int64_t max) {
  const Napi::Value value = object.Get(key);
  const std::string name = owner + "." + key;
  if (!value.IsNumber()) throwType(env, name + " must be a number");
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || std::floor(number) != number) throwRange(env, name + " must be an integer, got " + value.ToString().Utf8Value());
  if (number < double(min) || number > double(max))
    throwRange(env, name + " must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                        value.ToString().Utf8Value());
  return int(number);
}

template <typename Array>
Array requireTypedArray(Napi::Env env, const Napi::Value& value, napi_typedarray_type type, const std::string& name,
                        const char* expected) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type)
    throwType(env, name + " must be " + expected);
  return value.As<Array>();
}

Napi::Int32Array requireInt32Array(Napi::Env env, const Napi::Value& value, const std::string& name) {
  return requireTypedArray<Napi::Int32Array>(env, value, napi_int32_array, name, "an Int32Array");
}

// Rows must be strictly ascending query rows in [0, seqLen).
void requireRows(Napi::Env env, const Napi::Int32Array& rows, int seqLen, const std::string& name) {
  for (size_t r = 0; r < rows.ElementLength(); ++r) {
    const int32_t row = rows[r];
    if (row < 0 || row >= seqLen) throwRange(env, name + "[" + std::to_string(r) + "] = " + std::to_string(row) + " is outside [0, " + std::to_string(seqLen) + ")");
    if (r > 0 && row <= rows[r - 1]) throwRange(env, name + " must be strictly ascending (at index " + std::to_string(r) + ")");
  }
}

// Keeps JS values (input buffers, the cancel word) and native ones (resident inputs) alive while
// a worker reads them.
class KeepAlive {
 public:
  void hold(const Napi::Value& value) { references_.push_back(Napi::Persistent(value)); }
  void share(std::shared_ptr<const void> value) { shared_.push_back(std::move(value)); }

 private:
  std::vector<Napi::Reference<Napi::Value>> references_;
  std::vector<std::shared_ptr<const void>> shared_;
};

enum class Backend { Cpu, Cuda };

Backend parseBackend(Napi::Env env, const Napi::Object& opts) {
  const Napi::Value value = opts.Get("backend");
  const std::string backend = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (backend == "cpu") return Backend::Cpu;
  if (backend == "cuda") return Backend::Cuda;
  throwType(env, "opts.backend must be 'cpu' or 'cuda', got " + (value.IsUndefined() ? std::string("undefined") : value.ToString().Utf8Value()));
}

// Why backend 'cuda' cannot run here, or "" when it can.
std::string cudaUnavailableReason() {
#ifdef SPARSESCOPE_WITH_CUDA
  static const std::string reason = [] {
    const CudaDeviceReport report = cudaDeviceInfo();
    return report.available ? std::string() : (report.reason.empty() ? std::string("no CUDA device") : report.reason);
  }();
  return reason;
#else
  return "built without CUDA";
#endif
}

#ifdef SPARSESCOPE_WITH_CUDA
// What residentInputs() hands JS: the device copy, until releaseResident() drops it.
using ResidentHandle = Napi::External<std::shared_ptr<const ResidentInputs>>;

const std::shared_ptr<const ResidentInputs>& residentOf(Napi::Env env, const Napi::Value& value, const char* name) {
  if (!value.IsExternal()) throwType(env, std::string(name) + " must be what residentInputs() returned");
  const std::shared_ptr<const ResidentInputs>& held = *value.As<ResidentHandle>().Data();
  if (!held) throwType(env, std::string(name) + " was released");
  return held;
}
#endif

// inputs.resident: CUDA calls read the device copy instead of uploading q/k/v (CPU calls ignore it).
void useResident(Napi::Env env, const Napi::Value& value, AttentionInputs* inputs, KeepAlive& keep) {
#ifdef SPARSESCOPE_WITH_CUDA
  const std::shared_ptr<const ResidentInputs>& resident = residentOf(env, value, "inputs.resident");
  const std::string problem = cudaUseResident(*resident, inputs);
  if (!problem.empty()) throwRange(env, problem);
  keep.share(resident);
#else
  (void)value, (void)inputs, (void)keep;
  throwType(env, "inputs.resident: built without CUDA");
#endif
}

AttentionInputs parseInputs(Napi::Env env, const Napi::Value& value, bool needsValues, KeepAlive& keep) {
  const Napi::Object object = requireObject(env, value, "inputs");
  AttentionInputs inputs;
  const Napi::Value dtype = object.Get("dtype");
  const std::string dtypeName = dtype.IsString() ? dtype.As<Napi::String>().Utf8Value() : "";
  if (dtypeName == "F32") inputs.dtype = DType::F32;
  else if (dtypeName == "F16") inputs.dtype = DType::F16;
  else if (dtypeName == "BF16") inputs.dtype = DType::BF16;
  else throwType(env, "inputs.dtype must be 'F16', 'BF16' or 'F32'");
  inputs.numHeads = requireInt(env, object, "inputs", "numHeads", 1, 4096);
  inputs.numKvHeads = requireInt(env, object, "inputs", "numKvHeads", 1, 4096);
  inputs.seqLen = requireInt(env, object, "inputs", "seqLen", 1, 1 << 24);
  inputs.headDim = requireInt(env, object, "inputs", "headDim", 1, 1024);
  if (inputs.numHeads % inputs.numKvHeads != 0)
    throwRange(env, "inputs.numHeads (" + std::to_string(inputs.numHeads) + ") must be a multiple of inputs.numKvHeads (" +
                        std::to_string(inputs.numKvHeads) + ")");
  const size_t rowBytes = size_t(inputs.seqLen) * inputs.headDim * bytesPerElement(inputs.dtype);
  auto tensor = [&](const char* key, int heads) -> const void* {
    const std::string name = std::string("inputs.") + key;
    const Napi::Uint8Array bytes = requireTypedArray<Napi::Uint8Array>(env, object.Get(key), napi_uint8_array, name, "a Uint8Array");
    const size_t expected = rowBytes * heads;
    if (bytes.ByteLength() != expected)
      throwRange(env, name + " has " + std::to_string(bytes.ByteLength()) + " bytes, expected " + std::to_string(expected) + " (" +
                          std::to_string(heads) + " heads x " + std::to_string(inputs.seqLen) + " x " + std::to_string(inputs.headDim) + " " +
                          dtypeName + ")");
    keep.hold(bytes);
    return bytes.Data();
  };
  inputs.q = tensor("q", inputs.numHeads);
  inputs.k = tensor("k", inputs.numKvHeads);
  if (needsValues) inputs.v = tensor("v", inputs.numKvHeads);
  const Napi::Value resident = object.Get("resident");
  if (!resident.IsUndefined()) useResident(env, resident, &inputs, keep);
  return inputs;
}

// Optional opts.rows: all rows when absent.
RowSelection parseOptionalRows(Napi::Env env, const Napi::Object& opts, int seqLen, KeepAlive& keep) {
  const Napi::Value value = opts.Get("rows");
  if (value.IsUndefined() || value.IsNull()) return {};
  const Napi::Int32Array rows = requireInt32Array(env, value, "opts.rows");
  requireRows(env, rows, seqLen, "opts.rows");
  keep.hold(rows);
  return RowSelection{rows.Data(), int(rows.ElementLength())};
}

// One chunk's two [H, R, D] fp32 outputs in outputError: 256 MiB, a quarter of a 1M-token head's pair at D 128.
constexpr size_t kOutputErrorChunkBytes = size_t(256) << 20;

// What an op hands back to JS.
enum class Keep { Everything, LseOnly, ListsInAddon, Nothing };

// Optional opts.output (default true): false runs the op for its time only, so no [H, R, D]
// output is kept and neither it nor the LSE is copied to JS (at 1M tokens one head's output is
// 256 MiB at D 64, its LSE 4 MiB, and timed repeats would leave every copy to the garbage collector).
// Each op also takes one string of its own (`named`): attention ops 'lse', the LSE alone (what
// recall needs; the output error has its own op, outputError); buildIndex 'native', the lists kept
// in the addon (see IndexListsHandle).
Keep parseKeep(Napi::Env env, const Napi::Object& opts, Keep named) {
  const char* name = named == Keep::LseOnly ? "lse" : "native";
  const Napi::Value value = opts.Get("output");
  if (value.IsUndefined()) return Keep::Everything;
  if (value.IsString() && value.As<Napi::String>().Utf8Value() == name) return named;
  if (!value.IsBoolean()) throw Napi::TypeError::New(env, std::string("opts.output must be a boolean or '") + name + "'");
  return value.As<Napi::Boolean>().Value() ? Keep::Everything : Keep::Nothing;
}

// What buildIndex with opts.output 'native' hands JS as index.lists: the index, lists and all,
// kept here. At 1M tokens a head's lists are 60 to 100 MiB; copied into JS and checked again on
// every call they came back in, they cost 30 times the build itself on an H100.
using IndexListsHandle = Napi::External<std::shared_ptr<const SparseIndex>>;

size_t listBytes(const SparseIndex& index) {
  return (index.tileOffsets.size() + index.tileStarts.size() + index.colOffsets.size() + index.columns.size() + index.window.size()) *
         sizeof(int32_t);
}

Napi::Value indexListsHandle(Napi::Env env, std::shared_ptr<const SparseIndex> index) {
  const int64_t bytes = int64_t(listBytes(*index));
  Napi::MemoryManagement::AdjustExternalMemory(env, bytes);  // so the garbage collector counts it
  return IndexListsHandle::New(env, new std::shared_ptr<const SparseIndex>(std::move(index)),
                               [bytes](Napi::Env env, std::shared_ptr<const SparseIndex>* held) {
                                 Napi::MemoryManagement::AdjustExternalMemory(env, -bytes);
                                 delete held;
                               });
}

// The JS SparseIndex as a view, after checking that it is consistent with the inputs and safe
// to traverse (offsets monotone and in bounds, starts and columns non-negative and ascending).
// With index.lists the view is of the addon's own copy, built here and not checked again.
SparseIndexView parseIndex(Napi::Env env, const Napi::Value& value, const AttentionInputs& inputs, KeepAlive& keep) {
  const Napi::Object object = requireObject(env, value, "index");
  SparseIndexView index;
  index.numHeads = requireInt(env, object, "index", "numHeads", 1, 4096);
  index.seqLen = requireInt(env, object, "index", "seqLen", 1, 1 << 24);
  index.numBlocks = requireInt(env, object, "index", "numBlocks", 1, 1 << 24);
  if (index.numHeads != inputs.numHeads || index.seqLen != inputs.seqLen || index.numBlocks != inputs.numBlocks())
    throwRange(env, "index is for " + std::to_string(index.numHeads) + " heads x " + std::to_string(index.seqLen) +
                        " tokens but inputs have " + std::to_string(inputs.numHeads) + " heads x " + std::to_string(inputs.seqLen));
  const Napi::Value lists = object.Get("lists");
  if (!lists.IsUndefined()) {
    if (!lists.IsExternal()) throwType(env, "index.lists must be what buildIndex returned with opts.output 'native'");
    const std::shared_ptr<const SparseIndex>& held = *lists.As<IndexListsHandle>().Data();
    if (held->numHeads != index.numHeads || held->seqLen != index.seqLen)
      throwRange(env, "index.lists are for " + std::to_string(held->numHeads) + " heads x " + std::to_string(held->seqLen) + " tokens, not this index's");
    keep.share(held);
    return SparseIndexView::of(*held);
  }
  const size_t slots = size_t(index.numHeads) * index.numBlocks;
  auto csr = [&](const char* offsetsKey, const char* valuesKey, const int32_t** offsetsOut, const int32_t** valuesOut) {
    const Napi::Int32Array offsets = requireInt32Array(env, object.Get(offsetsKey), std::string("index.") + offsetsKey);
    const Napi::Int32Array values = requireInt32Array(env, object.Get(valuesKey), std::string("index.") + valuesKey);
    if (offsets.ElementLength() != slots + 1)
      throwRange(env, std::string("index.") + offsetsKey + " must have numHeads * numBlocks + 1 = " + std::to_string(slots + 1) + " entries");
    if (offsets[0] != 0 || size_t(offsets[slots]) != values.ElementLength())
      throwRange(env, std::string("index.") + offsetsKey + " must start at 0 and end at index." + valuesKey + ".length");
    for (size_t s = 0; s < slots; ++s) {
      if (offsets[s + 1] < offsets[s]) throwRange(env, std::string("index.") + offsetsKey + " must not decrease (at " + std::to_string(s) + ")");
      for (int32_t e = offsets[s]; e < offsets[s + 1]; ++e) {
        if (values[size_t(e)] < 0) throwRange(env, std::string("index.") + valuesKey + "[" + std::to_string(e) + "] is negative");
        if (e > offsets[s] && values[size_t(e)] <= values[size_t(e - 1)])
          throwRange(env, std::string("index.") + valuesKey + " must ascend within each (head, block) (at " + std::to_string(e) + ")");
      }
    }
    keep.hold(offsets);
    keep.hold(values);
    *offsetsOut = offsets.Data();
    *valuesOut = values.Data();
  };
  csr("tileOffsets", "tileStarts", &index.tileOffsets, &index.tileStarts);
  csr("colOffsets", "columns", &index.colOffsets, &index.columns);
  const Napi::Int32Array window = requireInt32Array(env, object.Get("window"), "index.window");
  if (window.ElementLength() != size_t(index.numHeads) * 2) throwRange(env, "index.window must have 2 * numHeads entries");
  keep.hold(window);
  index.window = window.Data();
  return index;
}

// An index built for some rows (index.rows, see BuildIndex) has lists only in their query blocks:
// an op may use it only on rows of those blocks.
void requireRowsCovered(Napi::Env env, const Napi::Value& indexValue, const RowSelection& rows, int numBlocks) {
  const Napi::Value built = indexValue.As<Napi::Object>().Get("rows");
  if (built.IsUndefined()) return;
  const Napi::Int32Array builtRows = requireInt32Array(env, built, "index.rows");
  if (rows.all()) throwRange(env, "this index was built for " + std::to_string(builtRows.ElementLength()) + " rows (index.rows) and serves only calls on rows of their blocks; pass opts.rows or build it without rows");
  for (size_t r = 0; r < builtRows.ElementLength(); ++r)
    if (builtRows[r] < 0 || builtRows[r] / kBlock >= numBlocks) throwRange(env, "index.rows[" + std::to_string(r) + "] is out of range");
  const std::vector<uint8_t> covered = blocksOfRows(builtRows.Data(), int(builtRows.ElementLength()), numBlocks);
  for (int r = 0; r < rows.count; ++r)
    if (!covered[size_t(rows.rows[r] / kBlock)])
      throwRange(env, "row " + std::to_string(rows.rows[r]) + " lies in a query block this index has no lists for (it was built for index.rows)");
}

// ---------------------------------------------------------------------------------------------
// Progress and cancellation.

// Forwards progress from worker threads to the JS callback at most ~20 times per second, and the
// final 1 on the JS thread before the promise settles; late deliveries after that are dropped.
class ProgressChannel {
 public:
  ProgressChannel(Napi::Env env, const Napi::Value& callback) {
    if (!callback.IsFunction()) return;
    state_ = std::make_shared<State>();
    state_->callback = Napi::Persistent(callback.As<Napi::Function>());
    tsfn_ = Napi::ThreadSafeFunction::New(env, callback.As<Napi::Function>(), "sparsescope.progress", 0, 1);
  }

  std::function<void(double)> sink() {
    if (!state_) return {};
    return [this](double fraction) {
      const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now().time_since_epoch()).count();
      int64_t last = lastSentMs_.load();
      if (now - last < kIntervalMs || !lastSentMs_.compare_exchange_strong(last, now)) return;
      auto state = state_;
      tsfn_.NonBlockingCall(new double(fraction), [state](Napi::Env, Napi::Function callback, double* value) {
        const double fraction = *value;
        delete value;
        if (!state->finished) deliver(callback, fraction);
      });
    };
  }

  // On the JS thread when the op ends: final 1 on success, then the channel closes.
  void finish(bool succeeded) {
    if (!state_) return;
    state_->finished = true;
    if (succeeded) deliver(state_->callback.Value(), 1.0);
    tsfn_.Release();
  }

 private:
  static constexpr int64_t kIntervalMs = 50;
  struct State {
    Napi::FunctionReference callback;
    bool finished = false;  // only touched on the JS thread
  };
  // A throwing progress callback must not take the process down: its exception is dropped.
  static void deliver(const Napi::Function& callback, double fraction) {
    try {
      callback.Call({Napi::Number::New(callback.Env(), fraction)});
    } catch (const Napi::Error&) {
    }
  }

  std::shared_ptr<State> state_;
  Napi::ThreadSafeFunction tsfn_;
  std::atomic<int64_t> lastSentMs_{-kIntervalMs};
};

// An index build frees a small vector per query block on whichever threads built them; glibc keeps
// those pages in each thread's arena, so RSS grew with every build (7 MiB a build at 128K tokens,
// more with longer indexes). Trimming after each op, outside its time, gives them back.
void returnFreedSmallBlocks() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

// One asynchronous op: compute() on a worker thread, resolve() on the JS thread.
class OpWorker : public Napi::AsyncWorker {
 public:
  using Compute = std::function<std::string(const CallContext&)>;
  using Resolve = std::function<Napi::Value(Napi::Env, double ms)>;

  struct Plan {
    Compute compute;
    Resolve resolve;
    bool onCuda = false;  // ms then comes from CUDA device events, not the host clock
  };

  OpWorker(Napi::Env env, Napi::Promise::Deferred deferred, std::unique_ptr<KeepAlive> keep, const Napi::Value& control,
           Plan plan)
      : Napi::AsyncWorker(env, "sparsescope.op"),
        deferred_(deferred),
        keep_(std::move(keep)),
        progress_(env, control.IsObject() ? control.As<Napi::Object>().Get("onProgress") : env.Undefined()),
        plan_(std::move(plan)) {
    context_.progress = progress_.sink();
    if (!control.IsObject()) return;
    const Napi::Value cancel = control.As<Napi::Object>().Get("cancel");
    if (cancel.IsUndefined()) return;
    const Napi::Int32Array word = requireInt32Array(env, cancel, "control.cancel");
    if (word.ElementLength() < 1) throwRange(env, "control.cancel must have at least one element");
    keep_->hold(word);
    context_.cancelWord = word.Data();
  }

  void Execute() override {
#ifdef SPARSESCOPE_WITH_CUDA
    cudaTakeDeviceMs();  // forget an earlier op's time on this worker thread
#endif
    const auto start = std::chrono::steady_clock::now();
    std::string status;
    try {
      status = plan_.compute(context_);
    } catch (const std::bad_alloc&) {
      status = "out of memory";
    } catch (const std::exception& error) {
      status = error.what();
    }
    ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    returnFreedSmallBlocks();
#ifdef SPARSESCOPE_WITH_CUDA
    // CUDA ops report device-event time (spec 2.2), not host time with the transfers.
    if (const double deviceMs = plan_.onCuda ? cudaTakeDeviceMs() : -1.0; deviceMs >= 0.0) ms_ = deviceMs;
#endif
    if (!status.empty()) SetError(status);
  }

  void OnOK() override {
    progress_.finish(true);
    deferred_.Resolve(plan_.resolve(Env(), ms_));
  }

  void OnError(const Napi::Error& error) override {
    progress_.finish(false);
    deferred_.Reject(error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<KeepAlive> keep_;
  ProgressChannel progress_;
  Plan plan_;
  CallContext context_;
  double ms_ = 0.0;
};

// Parses arguments with `setup` (which returns the op's plan) and queues the op. Any argument
// error becomes a rejected promise.
using Setup = std::function<OpWorker::Plan(KeepAlive& keep)>;

Napi::Value startOp(const Napi::CallbackInfo& info, size_t controlArgument, const Setup& setup) {
  Napi::Env env = info.Env();
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  try {
    auto keep = std::make_unique<KeepAlive>();
    OpWorker::Plan plan = setup(*keep);
    const Napi::Value control = info.Length() > controlArgument ? info[controlArgument] : env.Undefined();
    if (!control.IsUndefined() && !control.IsObject()) throwType(env, "control must be an object");
    auto* worker = new OpWorker(env, deferred, std::move(keep), control, std::move(plan));
    worker->Queue();
  } catch (const Napi::Error& error) {
    deferred.Reject(error.Value());
  }
  return deferred.Promise();
}

// A JS-owned copy of a result (Electron forbids external buffers).
template <typename T>
Napi::TypedArrayOf<T> toTypedArray(Napi::Env env, const std::vector<T>& values) {
  Napi::TypedArrayOf<T> array = Napi::TypedArrayOf<T>::New(env, values.size());
  std::copy(values.begin(), values.end(), array.Data());
  return array;
}

// Rejects backend 'cuda' where it cannot run; returns true when the call should go to CUDA.
bool useCuda(Napi::Env env, Backend backend) {
  if (backend == Backend::Cpu) return false;
  const std::string reason = cudaUnavailableReason();
  if (!reason.empty()) throw Napi::Error::New(env, "CUDA backend not available: " + reason);
  return true;
}

Napi::Object attentionResult(Napi::Env env, const std::vector<float>& out, const std::vector<float>& lse, double ms) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("out", toTypedArray(env, out));
  result.Set("lse", toTypedArray(env, lse));
  result.Set("ms", ms);
  return result;
}

struct AttentionOutputs {
  std::vector<float> out, lse;
};

// Where a non-finite result came from: the first NaN or infinity in the inputs, else fp32 overflow.
std::string nonFiniteInputs(const AttentionInputs& inputs) {
  std::vector<float> row(size_t(inputs.headDim));
  auto scan = [&](const void* tensor, int heads, const char* name, const char* headKind) -> std::string {
    for (int h = 0; tensor != nullptr && h < heads; ++h)
      for (int i = 0; i < inputs.seqLen; ++i) {
        toFloat(inputs.dtype, tensor, inputs.rowOffset(h, i), row.size(), row.data());
        for (const float value : row)
          if (!std::isfinite(value))
            return std::string("inputs.") + name + " holds a non-finite value (" + std::to_string(value) + ") at " + headKind + " " +
                   std::to_string(h) + ", row " + std::to_string(i);
      }
    return "";
  };
  std::string problem = scan(inputs.q, inputs.numHeads, "q", "head");
  if (problem.empty()) problem = scan(inputs.k, inputs.numKvHeads, "k", "kv head");
  if (problem.empty()) problem = scan(inputs.v, inputs.numKvHeads, "v", "kv head");
  return problem.empty() ? "the result is not finite: scores overflow fp32 (inputs too large)" : problem;
}

// A successful op whose results hold NaN or +-infinity (-infinity allowed where a row may see no
// key, for LSE) is reported as an error naming the bad input instead of returning NaN.
std::string requireFinite(const std::string& status, const AttentionInputs& inputs,
                          std::initializer_list<std::pair<const std::vector<float>*, bool>> results) {
  if (!status.empty()) return status;
  for (const auto& [values, negativeInfinityAllowed] : results)
    for (const float value : *values)
      if (!std::isfinite(value) && !(negativeInfinityAllowed && value < 0 && std::isinf(value))) return nonFiniteInputs(inputs);
  return "";
}

// ---------------------------------------------------------------------------------------------
// Exported functions.

/**
 * The plan of an op that writes O [H, R, D] and LSE [H, R] for the selected rows (dense and sparse
 * attention): `run(out, lse, ctx)` fills the buffers and returns an error status or "".
 */
template <typename Run>
OpWorker::Plan attentionPlan(const AttentionInputs& inputs, const RowSelection& rows, bool cuda, Keep keep, Run run) {
  auto outputs = std::make_shared<AttentionOutputs>();
  const bool keepOutput = keep == Keep::Everything;
  OpWorker::Compute compute = [=](const CallContext& ctx) {
    const size_t rowTotal = size_t(inputs.numHeads) * rows.size(inputs.seqLen);
    // Without an output buffer the CPU kernels write no O and the CUDA ones keep it on the device.
    if (keepOutput) outputs->out.resize(rowTotal * inputs.headDim);
    outputs->lse.resize(rowTotal);
    const std::string status = run(keepOutput ? outputs->out.data() : nullptr, outputs->lse.data(), ctx);
    return requireFinite(status, inputs, {{&outputs->out, false}, {&outputs->lse, true}});
  };
  OpWorker::Resolve resolve = [=](Napi::Env env, double ms) -> Napi::Value {
    if (keep == Keep::Nothing) outputs->lse = {};  // a timed run: the LSE was checked, only the time goes back
    return attentionResult(env, outputs->out, outputs->lse, ms);
  };
  return OpWorker::Plan{compute, resolve, cuda};
}

// Dense and sparse attention on the backend the call chose (the CPU op or its CUDA twin).
std::string runDense(bool cuda, const AttentionInputs& inputs, const RowSelection& rows, float* out, float* lse, const CallContext& ctx) {
#ifdef SPARSESCOPE_WITH_CUDA
  if (cuda) return cudaDenseAttention(inputs, rows, out, lse, ctx);
#endif
  (void)cuda;
  return denseAttention(inputs, rows, out, lse, ctx);
}

std::string runSparse(bool cuda, const AttentionInputs& inputs, const SparseIndexView& index, const RowSelection& rows, float* out, float* lse,
                      const CallContext& ctx) {
#ifdef SPARSESCOPE_WITH_CUDA
  if (cuda) return cudaSparseAttention(inputs, index, rows, out, lse, ctx);
#endif
  (void)cuda;
  return sparseAttention(inputs, index, rows, out, lse, ctx);
}

// The dense output of `chunk` (rows [first, first + count) of `rows`): on CUDA the one the resident
// inputs keep for `rows` when they do (recall's log-sum-exp pass of the same rows computed it;
// *kept true), else a dense pass. The LSE is not filled from a kept output: the error reads O alone.
std::string keptOrDense(bool cuda, const AttentionInputs& inputs, const RowSelection& rows, const RowSelection& chunk, int first, float* out,
                        float* lse, const CallContext& ctx, bool* kept) {
  *kept = false;
#ifdef SPARSESCOPE_WITH_CUDA
  if (cuda && inputs.resident != nullptr) {
    if (std::string status = cudaCopyKeptDense(*inputs.resident, rows, first, chunk.count, out, kept); !status.empty()) return status;
    if (*kept) return "";
  }
#else
  (void)rows;
  (void)first;
#endif
  return runDense(cuda, inputs, chunk, out, lse, ctx);
}

// The arguments of an op over (inputs, index, opts) with optional rows: sparse attention and outputError.
struct IndexedCall {
  AttentionInputs inputs;
  SparseIndexView index;
  Napi::Object opts;
  bool cuda = false;
  RowSelection rows;
};

IndexedCall parseIndexedCall(const Napi::CallbackInfo& info, KeepAlive& keep) {
  Napi::Env env = info.Env();
  IndexedCall call;
  call.inputs = parseInputs(env, info[0], true, keep);
  call.index = parseIndex(env, info[1], call.inputs, keep);
  call.opts = requireObject(env, info[2], "opts");
  call.cuda = useCuda(env, parseBackend(env, call.opts));
  call.rows = parseOptionalRows(env, call.opts, call.inputs.seqLen, keep);
  requireRowsCovered(env, info[1], call.rows, call.inputs.numBlocks());
  return call;
}

Napi::Value DeviceInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object cuda = Napi::Object::New(env);
  Napi::Array devices = Napi::Array::New(env);
#ifdef SPARSESCOPE_WITH_CUDA
  const CudaDeviceReport report = cudaDeviceInfo();
  cuda.Set("compiled", true);
  cuda.Set("available", report.available);
  if (!report.available) cuda.Set("reason", report.reason.empty() ? std::string("no CUDA device") : report.reason);
  for (size_t d = 0; d < report.devices.size(); ++d) {
    const CudaDevice& device = report.devices[d];
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("index", device.index);
    entry.Set("name", device.name);
    entry.Set("totalMemoryBytes", double(device.totalMemoryBytes));
    entry.Set("freeMemoryBytes", double(device.freeMemoryBytes));
    entry.Set("computeCapability", device.computeCapability);
    devices.Set(uint32_t(d), entry);
  }
  Napi::Array headDims = Napi::Array::New(env);
  [&]<int... kDims>(std::integer_sequence<int, kDims...>) {
    ((headDims.Set(headDims.Length(), kDims)), ...);
  }(CudaHeadDims{});
  cuda.Set("headDims", headDims);
#else
  cuda.Set("compiled", false);
  cuda.Set("available", false);
  cuda.Set("reason", cudaUnavailableReason());
  cuda.Set("headDims", Napi::Array::New(env));
#endif
  cuda.Set("devices", devices);
  Napi::Object result = Napi::Object::New(env);
  result.Set("cpuThreads", workerCount());
  result.Set("cuda", cuda);
  return result;
}

// residentInputs(inputs): q, k and v (if given) copied to the CUDA device once, for later calls
// on the same tensors (inputs.resident). Synchronous: one copy of what each call would upload.
Napi::Value ResidentInputsFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifdef SPARSESCOPE_WITH_CUDA
  const std::string unavailable = cudaUnavailableReason();
  if (!unavailable.empty()) throwType(env, "residentInputs: " + unavailable);
  KeepAlive keep;
  const Napi::Object object = requireObject(env, info[0], "inputs");
  const AttentionInputs inputs = parseInputs(env, object, object.Has("v") && !object.Get("v").IsUndefined(), keep);
  std::shared_ptr<const ResidentInputs> resident;
  const std::string status = cudaMakeResident(inputs, &resident);
  if (!status.empty()) throw Napi::Error::New(env, status);
  return ResidentHandle::New(env, new std::shared_ptr<const ResidentInputs>(std::move(resident)),
                             [](Napi::Env, std::shared_ptr<const ResidentInputs>* held) { delete held; });
#else
  throwType(env, "residentInputs: built without CUDA");
#endif
}

// releaseResident(handle): the device copy goes once no call in flight uses it.
Napi::Value ReleaseResident(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifdef SPARSESCOPE_WITH_CUDA
  if (!info[0].IsExternal()) throwType(env, "releaseResident takes what residentInputs() returned");
  info[0].As<ResidentHandle>().Data()->reset();
#else
  throwType(env, "releaseResident: built without CUDA");
#endif
  return env.Undefined();
}

Napi::Value DenseAttention(const Napi::CallbackInfo& info) {
  return startOp(info, 2, [&](KeepAlive& keep) {
    Napi::Env env = info.Env();
    const AttentionInputs inputs = parseInputs(env, info[0], true, keep);
    const Napi::Object opts = requireObject(env, info[1], "opts");
    const bool cuda = useCuda(env, parseBackend(env, opts));
    const RowSelection rows = parseOptionalRows(env, opts, inputs.seqLen, keep);
    return attentionPlan(inputs, rows, cuda, parseKeep(env, opts, Keep::LseOnly), [=](float* out, float* lse, const CallContext& ctx) {
      return runDense(cuda, inputs, rows, out, lse, ctx);
    });
  });
}

Napi::Value PooledMap(const Napi::CallbackInfo& info) {
  return startOp(info, 2, [&](KeepAlive& keep) {
    Napi::Env env = info.Env();
    const AttentionInputs inputs = parseInputs(env, info[0], false, keep);
    if (inputs.numHeads != 1 || inputs.numKvHeads != 1) throwRange(env, "pooledMap takes one head: inputs.numHeads and inputs.numKvHeads must be 1");
    const Napi::Object opts = requireObject(env, info[1], "opts");
    const bool cuda = useCuda(env, parseBackend(env, opts));
    const int n = inputs.seqLen;
    PooledMapArgs args;
    args.rowStart = requireInt(env, opts, "opts", "rowStart", 0, n - 1);
    args.rowEnd = requireInt(env, opts, "opts", "rowEnd", args.rowStart + 1, n);
    args.colStart = requireInt(env, opts, "opts", "colStart", 0, n - 1);
    args.colEnd = requireInt(env, opts, "opts", "colEnd", args.colStart + 1, n);
    args.rows = requireInt(env, opts, "opts", "rows", 1, 8192);
    args.cols = requireInt(env, opts, "opts", "cols", 1, 8192);
    const Napi::Value sample = opts.Get("sampleRows");
    if (!sample.IsNull() && !sample.IsUndefined()) {
      const Napi::Int32Array sampleRows = requireInt32Array(env, sample, "opts.sampleRows");
      requireRows(env, sampleRows, n, "opts.sampleRows");
      keep.hold(sampleRows);
      args.sampleRows = RowSelection{sampleRows.Data(), int(sampleRows.ElementLength())};
    }
    struct Outputs {
      std::vector<float> mean, max;
      int rowsUsed = 0;
    };
    auto outputs = std::make_shared<Outputs>();
    OpWorker::Compute compute = [=](const CallContext& ctx) {
      outputs->mean.resize(size_t(args.rows) * args.cols);
      outputs->max.resize(size_t(args.rows) * args.cols);
      const auto run = [&] {
#ifdef SPARSESCOPE_WITH_CUDA
        if (cuda) return cudaPooledMap(inputs, args, outputs->mean.data(), outputs->max.data(), &outputs->rowsUsed, ctx);
#endif
        (void)cuda;
        return pooledMap(inputs, args, outputs->mean.data(), outputs->max.data(), &outputs->rowsUsed, ctx);
      };
      return requireFinite(run(), inputs, {{&outputs->mean, false}, {&outputs->max, false}});
    };
    OpWorker::Resolve resolve = [=](Napi::Env env, double ms) -> Napi::Value {
      Napi::Object result = Napi::Object::New(env);
      result.Set("mean", toTypedArray(env, outputs->mean));
      result.Set("max", toTypedArray(env, outputs->max));
      result.Set("rowsUsed", outputs->rowsUsed);
      result.Set("ms", ms);
      return result;
    };
    return OpWorker::Plan{compute, resolve, cuda};
  });
}

Napi::Value BuildIndex(const Napi::CallbackInfo& info) {
  return startOp(info, 3, [&](KeepAlive& keep) {
    Napi::Env env = info.Env();
    const AttentionInputs inputs = parseInputs(env, info[0], false, keep);
    const Napi::Int32Array patterns = requireInt32Array(env, info[1], "patterns");
    if (patterns.ElementLength() != size_t(inputs.numHeads) * 3)
      throwRange(env, "patterns must have 3 * numHeads = " + std::to_string(inputs.numHeads * 3) + " entries, got " +
                          std::to_string(patterns.ElementLength()));
    keep.hold(patterns);
    const HeadPatternsView patternsView{patterns.Data()};
    const Napi::Object opts = requireObject(env, info[2], "opts");
    const bool cuda = useCuda(env, parseBackend(env, opts));
    IndexSettings settings;
    if (!opts.Get("lastQ").IsUndefined()) settings.lastQ = requireInt(env, opts, "opts", "lastQ", 1, kMaxLastQ);
    // Block sizes are checked (multiples of 64) by the builders, when a head uses them.
    auto optionalInt = [&](const char* key, int64_t max, int& target) {
      if (!opts.Get(key).IsUndefined()) target = requireInt(env, opts, "opts", key, 0, max);
    };
    optionalInt("xattentionBlockSize", 1 << 16, settings.xattentionBlockSize);
    optionalInt("flexprefillBlockSize", 1 << 16, settings.flexprefillBlockSize);
    optionalInt("flexprefillMinBudget", 1 << 24, settings.flexprefillMinBudget);
    const Keep kept = parseKeep(env, opts, Keep::ListsInAddon);
    const bool listsHere = kept == Keep::ListsInAddon, keepOutput = kept != Keep::Nothing;
    // opts.rows: lists only for the query blocks of these rows (a probe's), returned as index.rows.
    const RowSelection rows = parseOptionalRows(env, opts, inputs.seqLen, keep);
    const std::vector<uint8_t> wanted = rows.all() ? std::vector<uint8_t>{} : blocksOfRows(rows.rows, rows.count, inputs.numBlocks());
    const std::vector<int32_t> rowsCopy = rows.all() ? std::vector<int32_t>{} : std::vector<int32_t>(rows.rows, rows.rows + rows.count);
    auto index = std::make_shared<SparseIndex>();
    OpWorker::Compute compute = [=](const CallContext& ctx) {
      IndexSettings built = settings;
      if (!wanted.empty()) built.wantedBlocks = wanted.data();  // the lambda's own copy, alive while it runs
#ifdef SPARSESCOPE_WITH_CUDA
      if (cuda) return cudaBuildIndex(inputs, patternsView, built, index.get(), ctx);
#endif
      (void)cuda;
      return buildSparseIndex(inputs, patternsView, built, index.get(), ctx);
    };
    OpWorker::Resolve resolve = [=](Napi::Env env, double ms) -> Napi::Value {
      // Each array is released as soon as JS has its copy (at 1M tokens a head's index is ~50 MiB);
      // a timed build (opts.output false) gives JS empty arrays.
      SparseIndex& built = *index;
      auto moved = [&](auto& values) {
        auto taken = std::exchange(values, {});
        if (!keepOutput) taken.clear();
        return toTypedArray(env, taken);
      };
      Napi::Object result = Napi::Object::New(env);
      result.Set("numHeads", built.numHeads);
      result.Set("seqLen", built.seqLen);
      result.Set("numBlocks", built.numBlocks);
      if (listsHere) {
        for (const char* key : {"tileOffsets", "tileStarts", "colOffsets", "columns"}) result.Set(key, Napi::Int32Array::New(env, 0));
        result.Set("window", toTypedArray(env, built.window));
        result.Set("lists", indexListsHandle(env, index));
      } else {
        result.Set("tileOffsets", moved(built.tileOffsets));
        result.Set("tileStarts", moved(built.tileStarts));
        result.Set("colOffsets", moved(built.colOffsets));
        result.Set("columns", moved(built.columns));
        result.Set("window", moved(built.window));
      }
      result.Set("verticalOffsets", moved(built.verticalOffsets));
      result.Set("verticals", moved(built.verticals));
      result.Set("slashOffsets", moved(built.slashOffsets));
      result.Set("slashes", moved(built.slashes));
      result.Set("density", moved(built.density));
      if (!rowsCopy.empty()) result.Set("rows", toTypedArray(env, rowsCopy));
      result.Set("ms", ms);
      return result;
    };
    return OpWorker::Plan{compute, resolve, cuda};
  });
}

// methodEstimate(inputs, { backend, method, head, blockSize, stride }): what a method's index is
// chosen from, for one query head: XAttention's block masses [M * M] (method 'xattention', with
// stride) or FlexPrefill's token scores vertical and slash [N] (method 'flexprefill', N >= blockSize).
Napi::Value MethodEstimate(const Napi::CallbackInfo& info) {
  return startOp(info, 2, [&](KeepAlive& keep) {
    Napi::Env env = info.Env();
    const AttentionInputs inputs = parseInputs(env, info[0], false, keep);
    const Napi::Object opts = requireObject(env, info[1], "opts");
    const bool cuda = useCuda(env, parseBackend(env, opts));
    const Napi::Value methodValue = opts.Get("method");
    const std::string method = methodValue.IsString() ? methodValue.As<Napi::String>().Utf8Value() : "";
    if (method != "xattention" && method != "flexprefill") throwType(env, "opts.method must be 'xattention' or 'flexprefill'");
    const bool xattention = method == "xattention";
    const int head = requireInt(env, opts, "opts", "head", 0, inputs.numHeads - 1);
    const int blockSize = requireInt(env, opts, "opts", "blockSize", 1, 1 << 16);
    const int stride = xattention ? requireInt(env, opts, "opts", "stride", 1, 1 << 16) : 0;
    std::string problem = checkMethodBlockSize(method.c_str(), blockSize);
    if (problem.empty() && xattention) problem = checkXAttention(0, stride, blockSize);
    if (problem.empty() && !xattention && inputs.seqLen < blockSize)
      problem = "flexprefill scores need N >= the block size " + std::to_string(blockSize) + ", got N = " + std::to_string(inputs.seqLen);
    if (!problem.empty()) throwRange(env, "opts: " + problem);
    auto first = std::make_shared<std::vector<double>>(), second = std::make_shared<std::vector<double>>();
    OpWorker::Compute compute = [=](const CallContext& ctx) -> std::string {
#ifdef SPARSESCOPE_WITH_CUDA
      if (cuda && xattention) return cudaXAttentionMasses(inputs, head, stride, blockSize, first.get(), ctx);
      if (cuda) return cudaFlexPrefillScores(inputs, head, blockSize, first.get(), second.get(), ctx);
#endif
      if (xattention) *first = xattentionMasses(inputs, head, stride, blockSize);
      else flexprefillTokenScores(inputs, head, blockSize, *first, *second);
      return "";
    };
    OpWorker::Resolve resolve = [=](Napi::Env env, double ms) -> Napi::Value {
      Napi::Object result = Napi::Object::New(env);
      if (xattention) {
        result.Set("masses", toTypedArray(env, *first));
      } else {
        result.Set("vertical", toTypedArray(env, *first));
        result.Set("slash", toTypedArray(env, *second));
      }
      result.Set("ms", ms);
      return result;
    };
    return OpWorker::Plan{compute, resolve, cuda};
  });
}

Napi::Value SparseAttention(const Napi::CallbackInfo& info) {
  return startOp(info, 3, [&](KeepAlive& keep) {
    const IndexedCall call = parseIndexedCall(info, keep);
    return attentionPlan(call.inputs, call.rows, call.cuda, parseKeep(info.Env(), call.opts, Keep::LseOnly), [=](float* out, float* lse, const CallContext& ctx) {
      return runSparse(call.cuda, call.inputs, call.index, call.rows, out, lse, ctx);
    });
  });
}

// Per head, ||sparse - dense|| / ||dense|| over the selected rows, both outputs computed here in
// chunks of rows (ops/output_error.h) so neither reaches JS. ms is host time (it spans many kernels).
Napi::Value OutputError(const Napi::CallbackInfo& info) {
  return startOp(info, 3, [&](KeepAlive& keep) {
    Napi::Env env = info.Env();
    const IndexedCall call = parseIndexedCall(info, keep);
    const AttentionInputs& inputs = call.inputs;
    const int chunkRows = call.opts.Get("chunkRows").IsUndefined() ? outputErrorChunkRows(inputs, kOutputErrorChunkBytes)
                                                                   : requireInt(env, call.opts, "opts", "chunkRows", 1, inputs.seqLen);
    auto sums = std::make_shared<std::vector<double>>(2 * size_t(inputs.numHeads));
    auto chunks = std::make_shared<std::pair<int, int>>(0, 0);  // chunks whose dense output was kept, and all
    OpWorker::Compute compute = [=](const CallContext& ctx) {
      const ChunkAttention dense = [&](const RowSelection& chunk, int first, float* out, float* lse, const CallContext& c) {
        bool kept = false;
        const std::string status = keptOrDense(call.cuda, inputs, call.rows, chunk, first, out, lse, c, &kept);
        chunks->first += kept ? 1 : 0;
        chunks->second += 1;
        return status;
      };
      const ChunkAttention sparse = [&](const RowSelection& chunk, int, float* out, float* lse, const CallContext& c) {
        return runSparse(call.cuda, inputs, call.index, chunk, out, lse, c);
      };
      double* errorSq = sums->data();
      double* denseSq = errorSq + inputs.numHeads;
      const std::string status = outputErrorSums(inputs, call.rows, chunkRows, dense, sparse, errorSq, denseSq, ctx);
      if (!status.empty()) return status;
      for (const double value : *sums)
        if (!std::isfinite(value)) return nonFiniteInputs(inputs);
      return std::string();
    };
    OpWorker::Resolve resolve = [=](Napi::Env env, double ms) -> Napi::Value {
      Napi::Float64Array relError = Napi::Float64Array::New(env, size_t(inputs.numHeads));
      for (size_t h = 0; h < size_t(inputs.numHeads); ++h) {
        const double norm = (*sums)[size_t(inputs.numHeads) + h];
        relError[h] = norm > 0 ? std::sqrt((*sums)[h] / norm) : 0.0;
      }
      Napi::Object result = Napi::Object::New(env);
      result.Set("relError", relError);
      result.Set("denseKept", Napi::Boolean::New(env, chunks->second > 0 && chunks->first == chunks->second));
      result.Set("ms", ms);
      return result;
    };
    return OpWorker::Plan{compute, resolve, false};
  });
}

Napi::Value Recall(const Napi::CallbackInfo& info) {
  return startOp(info, 3, [&](KeepAlive& keep) {
    Napi::Env env = info.Env();
    const AttentionInputs inputs = parseInputs(env, info[0], false, keep);
    const SparseIndexView index = parseIndex(env, info[1], inputs, keep);
    const Napi::Object opts = requireObject(env, info[2], "opts");
    const bool cuda = useCuda(env, parseBackend(env, opts));
    const Napi::Int32Array rowsArray = requireInt32Array(env, opts.Get("rows"), "opts.rows");
    requireRows(env, rowsArray, inputs.seqLen, "opts.rows");
    keep.hold(rowsArray);
    const RowSelection rows{rowsArray.Data(), int(rowsArray.ElementLength())};
    requireRowsCovered(env, info[1], rows, inputs.numBlocks());
    const Napi::Float32Array lse = requireTypedArray<Napi::Float32Array>(env, opts.Get("denseLse"), napi_float32_array, "opts.denseLse", "a Float32Array");
    if (lse.ElementLength() != size_t(inputs.numHeads) * rows.count)
      throwRange(env, "opts.denseLse must have numHeads * rows.length = " + std::to_string(size_t(inputs.numHeads) * rows.count) + " entries");
    keep.hold(lse);
    const float* denseLse = lse.Data();
    auto values = std::make_shared<std::vector<float>>();
    OpWorker::Compute compute = [=](const CallContext& ctx) {
      values->resize(size_t(inputs.numHeads) * rows.count);
      const auto run = [&] {
#ifdef SPARSESCOPE_WITH_CUDA
        if (cuda) return cudaRecall(inputs, index, rows, denseLse, values->data(), ctx);
#endif
        (void)cuda;
        return recall(inputs, index, rows, denseLse, values->data(), ctx);
      };
      return requireFinite(run(), inputs, {{values.get(), false}});
    };
    OpWorker::Resolve resolve = [=](Napi::Env env, double ms) -> Napi::Value {
      Napi::Object result = Napi::Object::New(env);
      result.Set("recall", toTypedArray(env, *values));
      result.Set("ms", ms);
      return result;
    };
    return OpWorker::Plan{compute, resolve, cuda};
  });
}

// glibc raises its mmap threshold to the largest block freed (up to 32 MiB); after that the thread
// pool's arenas keep the ops' freed buffers and RSS grows with every batch of heads (analyze at 64K
// tokens in 8 batches: 240 MiB, not 160). A fixed threshold keeps blocks of 1 MiB and more mmapped,
// so freeing one gives it back to the system.
void returnLargeBlocksOnFree() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  returnLargeBlocksOnFree();
  exports.Set("deviceInfo", Napi::Function::New(env, DeviceInfo, "deviceInfo"));
  exports.Set("denseAttention", Napi::Function::New(env, DenseAttention, "denseAttention"));
  exports.Set("pooledMap", Napi::Function::New(env, PooledMap, "pooledMap"));
  exports.Set("buildIndex", Napi::Function::New(env, BuildIndex, "buildIndex"));
  exports.Set("methodEstimate", Napi::Function::New(env, MethodEstimate, "methodEstimate"));
  exports.Set("sparseAttention", Napi::Function::New(env, SparseAttention, "sparseAttention"));
  exports.Set("recall", Napi::Function::New(env, Recall, "recall"));
  exports.Set("outputError", Napi::Function::New(env, OutputError, "outputError"));
  exports.Set("residentInputs", Napi::Function::New(env, ResidentInputsFn, "residentInputs"));
  exports.Set("releaseResident", Napi::Function::New(env, ReleaseResident, "releaseResident"));
  return exports;
}

}  // namespace
}  // namespace sparsescope

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return sparsescope::Init(env, exports); }
NODE_API_MODULE(sparsescope, InitModule)
