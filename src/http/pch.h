#pragma once
// Precompiled for agentsched_http (and reused by serve): the heavy Boost headers.
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
