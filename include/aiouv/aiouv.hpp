#ifndef AIOUV_AIOUV_HPP_INCLUDED
#define AIOUV_AIOUV_HPP_INCLUDED

/// \file
/// Umbrella header: everything aiouv offers.

#include <aiouv/coro.hpp>
#include <aiouv/events.hpp>
#include <aiouv/exceptions.hpp>
#include <aiouv/fs.hpp>
#include <aiouv/futures.hpp>
#include <aiouv/locks.hpp>
#include <aiouv/log.hpp>
#include <aiouv/protocols.hpp>
#include <aiouv/queues.hpp>
#include <aiouv/runners.hpp>
#include <aiouv/servers.hpp>
#include <aiouv/sockets.hpp>
#include <aiouv/ssl.hpp>
#include <aiouv/streams.hpp>
#include <aiouv/subprocess.hpp>
#include <aiouv/taskgroups.hpp>
#include <aiouv/tasks.hpp>
#include <aiouv/threads.hpp>
#include <aiouv/timeouts.hpp>
#include <aiouv/transports.hpp>

#endif
