#pragma once
#include <cstdint>
#include <string>

namespace agentsched {

// Dense indices assigned by whoever owns the objects (workload, gateway, engine).
using ProgramIndex = std::uint32_t;
using RequestId = std::uint64_t;
using BackendIndex = std::uint32_t;

inline constexpr ProgramIndex kNoProgram = ~ProgramIndex{0};

}  // namespace agentsched
