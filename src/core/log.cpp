#include <aiouv/log.hpp>

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace aiouv {
namespace {

std::mutex& logger_mutex() {
  static std::mutex m;
  return m;
}

std::shared_ptr<spdlog::logger>& current_logger() {
  static std::shared_ptr<spdlog::logger> instance;
  return instance;
}

std::shared_ptr<spdlog::logger> make_default_logger() {
  if (auto registered = spdlog::get("aiouv")) return registered;
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  return std::make_shared<spdlog::logger>("aiouv", std::move(sink));
}

}  // namespace

std::shared_ptr<spdlog::logger> logger() {
  std::lock_guard lock(logger_mutex());
  auto& current = current_logger();
  if (!current) current = make_default_logger();
  return current;
}

void set_logger(std::shared_ptr<spdlog::logger> replacement) {
  std::lock_guard lock(logger_mutex());
  current_logger() = std::move(replacement);
}

}  // namespace aiouv
