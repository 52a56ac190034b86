#ifndef AIOUV_LOG_HPP_INCLUDED
#define AIOUV_LOG_HPP_INCLUDED

/// \file
/// aiouv logs through spdlog, with one logger named "aiouv" (asyncio's
/// `logging.getLogger("asyncio")`).

#include <memory>

namespace spdlog {
class logger;
}

namespace aiouv {

/// The logger every aiouv message goes to. By default a colour stderr logger
/// named "aiouv" (or the one already registered with spdlog under that name).
std::shared_ptr<spdlog::logger> logger();

/// Replaces the logger; `nullptr` restores the default. Thread-safe.
void set_logger(std::shared_ptr<spdlog::logger> logger);

}  // namespace aiouv

#endif
