// Device discovery, device selection, the device-event timing behind cudaLastDeviceMs(), and
// inputs kept on the device across calls (ResidentInputs).
#include <algorithm>
#include <mutex>
#include <vector>

#include "common.cuh"
#include "cuda_backend.h"

namespace sparsescope {
namespace cuda {

namespace {
thread_local double lastDeviceMs = -1;
}

std::string DeviceTimer::stop() {
  SPARSESCOPE_CUDA_TRY(cudaEventRecord(end_));
  SPARSESCOPE_CUDA_TRY(cudaEventSynchronize(end_));
  float ms = 0;
  SPARSESCOPE_CUDA_TRY(cudaEventElapsedTime(&ms, begin_, end_));
  lastDeviceMs = ms;
  return "";
}

void recordDeviceMs(double ms) { lastDeviceMs = ms; }

std::string useDevice() {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) return describe("cudaGetDeviceCount (no usable CUDA driver or device?)", error);
  if (count == 0) return "no CUDA device is present";
  SPARSESCOPE_CUDA_TRY(cudaSetDevice(0));
  return "";
}

}  // namespace cuda

double cudaTakeDeviceMs() {
  const double ms = cuda::lastDeviceMs;
  cuda::lastDeviceMs = -1;
  return ms;
}

CudaDeviceReport cudaDeviceInfo() {
  CudaDeviceReport report;
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) {
    cudaGetLastError();
    report.reason = std::string("no usable CUDA driver or device: ") + cudaGetErrorString(error);
    return report;
  }
  if (count == 0) {
    report.reason = "no CUDA device is present";
    return report;
  }
  for (int index = 0; index < count; ++index) {
    cudaDeviceProp properties{};
    if (cudaGetDeviceProperties(&properties, index) != cudaSuccess) continue;
    CudaDevice device;
    device.index = index;
    device.name = properties.name;
    device.totalMemoryBytes = properties.totalGlobalMem;
    device.computeCapability = std::to_string(properties.major) + "." + std::to_string(properties.minor);
    size_t freeBytes = 0, totalBytes = 0;
    if (cudaSetDevice(index) == cudaSuccess && cudaMemGetInfo(&freeBytes, &totalBytes) == cudaSuccess)
      device.freeMemoryBytes = freeBytes;
    cudaGetLastError();
    report.devices.push_back(device);
  }
  report.available = !report.devices.empty();
  if (!report.available) report.reason = "no CUDA device could be queried";
  return report;
}

class ResidentInputs {
 public:
  AttentionInputs shape;  // the host pointers as given; only the shape and dtype are read
  cuda::DeviceBuffer<unsigned char> q, k, v;
  // The last dense output computed on these tensors without a host buffer (cuda::keepDenseOutput):
  // [H][rows][D] fp32, and the selection it is of. Calls in flight may share the resident.
  mutable std::mutex keptMutex;
  mutable cuda::DeviceBuffer<float> kept;
  mutable std::vector<int32_t> keptRows;
  mutable bool keptAllRows = false;
};

namespace cuda {

void keepDenseOutput(const ResidentInputs& resident, const RowSelection& rows, DeviceBuffer<float>& output) {
  std::lock_guard<std::mutex> lock(resident.keptMutex);
  resident.kept.swap(output);  // the one kept before goes with the caller's buffer
  resident.keptAllRows = rows.all();
  resident.keptRows.assign(rows.rows, rows.rows + (rows.all() ? 0 : rows.count));
}

}  // namespace cuda

std::string cudaCopyKeptDense(const ResidentInputs& resident, const RowSelection& rows, int first, int count, float* out, bool* copied) {
  *copied = false;
  std::lock_guard<std::mutex> lock(resident.keptMutex);
  const AttentionInputs& shape = resident.shape;
  const size_t R = size_t(rows.size(shape.seqLen)), D = size_t(shape.headDim);
  const bool sameRows = rows.all() ? resident.keptAllRows
                                   : !resident.keptAllRows && resident.keptRows.size() == size_t(rows.count) &&
                                         std::equal(resident.keptRows.begin(), resident.keptRows.end(), rows.rows);
  if (!sameRows || resident.kept.size() != size_t(shape.numHeads) * R * D) return "";
  if (first < 0 || count < 0 || size_t(first) + size_t(count) > R)
    return "kept dense output: rows " + std::to_string(first) + " to " + std::to_string(first + count) + " outside its " + std::to_string(R);
  SPARSESCOPE_TRY(cuda::useDevice());
  for (size_t h = 0; h < size_t(shape.numHeads); ++h)
    SPARSESCOPE_CUDA_TRY(cudaMemcpy(out + h * count * D, resident.kept.get() + (h * R + first) * D, size_t(count) * D * sizeof(float),
                                    cudaMemcpyDeviceToHost));
  *copied = true;
  return "";
}

std::string cudaMakeResident(const AttentionInputs& inputs, std::shared_ptr<const ResidentInputs>* resident) {
  SPARSESCOPE_TRY(cuda::useDevice());
  auto made = std::make_shared<ResidentInputs>();
  made->shape = inputs;
  const size_t headBytes = size_t(inputs.seqLen) * inputs.headDim * bytesPerElement(inputs.dtype);
  SPARSESCOPE_TRY(made->q.upload(inputs.q, headBytes * inputs.numHeads, "resident q"));
  SPARSESCOPE_TRY(made->k.upload(inputs.k, headBytes * inputs.numKvHeads, "resident k"));
  if (inputs.v != nullptr) SPARSESCOPE_TRY(made->v.upload(inputs.v, headBytes * inputs.numKvHeads, "resident v"));
  *resident = std::move(made);
  return "";
}

std::string cudaUseResident(const ResidentInputs& resident, AttentionInputs* inputs) {
  const AttentionInputs& held = resident.shape;
  if (held.dtype != inputs->dtype || held.numHeads != inputs->numHeads || held.numKvHeads != inputs->numKvHeads ||
      held.seqLen != inputs->seqLen || held.headDim != inputs->headDim)
    return "inputs.resident holds tensors of another shape or dtype than inputs";
  if (inputs->v != nullptr && held.v == nullptr) return "inputs.resident has no v, and this call needs it";
  inputs->deviceQ = resident.q.get();
  inputs->deviceK = resident.k.get();
  inputs->deviceV = held.v == nullptr ? nullptr : resident.v.get();
  inputs->resident = &resident;
  return "";
}

}  // namespace sparsescope
