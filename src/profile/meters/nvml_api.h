// The few NVML declarations irene uses, written out so irene builds without the CUDA
// toolkit and loads libnvidia-ml.so.1 only at run time. Types, values and signatures are
// those of NVIDIA's nvml.h (the library's C ABI); fake_nvml.cc implements the same ones.
#pragma once

namespace irene::profile::nvml {

using Return = int;                  // nvmlReturn_t (a C enum: int-sized)
struct DeviceOpaque;                 // struct nvmlDevice_st
using Device = DeviceOpaque*;        // nvmlDevice_t
using ClockType = int;               // nvmlClockType_t

struct Utilization {                 // nvmlUtilization_t
  unsigned int gpu;                  // % of the sample period a kernel ran
  unsigned int memory;               // % of the sample period memory was read or written
};

struct Memory {                      // nvmlMemory_t (v1), bytes
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

constexpr Return kSuccess = 0;
constexpr Return kErrorUninitialized = 1;
constexpr Return kErrorInvalidArgument = 2;
constexpr Return kErrorNotSupported = 3;
constexpr Return kErrorNoPermission = 4;
constexpr Return kErrorNotFound = 6;
constexpr Return kErrorDriverNotLoaded = 9;
constexpr Return kErrorGpuIsLost = 15;
constexpr Return kErrorUnknown = 999;

constexpr ClockType kClockGraphics = 0;
constexpr ClockType kClockMemory = 2;

// Function pointer types, one per symbol we dlsym.
using InitFn = Return (*)();                                          // nvmlInit_v2
using ShutdownFn = Return (*)();                                      // nvmlShutdown
using ErrorStringFn = const char* (*)(Return);                        // nvmlErrorString
using DeviceGetCountFn = Return (*)(unsigned int*);                   // nvmlDeviceGetCount_v2
using DeviceGetHandleByIndexFn = Return (*)(unsigned int, Device*);   // nvmlDeviceGetHandleByIndex_v2
using DeviceGetNameFn = Return (*)(Device, char*, unsigned int);      // nvmlDeviceGetName
using DeviceGetTotalEnergyConsumptionFn = Return (*)(Device, unsigned long long*);  // mJ since driver load
using DeviceGetPowerUsageFn = Return (*)(Device, unsigned int*);      // mW
using DeviceGetUtilizationRatesFn = Return (*)(Device, Utilization*);
using DeviceGetMemoryInfoFn = Return (*)(Device, Memory*);
using DeviceGetClockInfoFn = Return (*)(Device, ClockType, unsigned int*);  // MHz

}  // namespace irene::profile::nvml
