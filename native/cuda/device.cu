// Device discovery, device selection and the device-event timing behind cudaLastDeviceMs().
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

}  // namespace sparsescope
