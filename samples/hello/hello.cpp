// The asyncio example this project started from, line for line:
//
//   import asyncio
//
//   async def say_hello():
//       await asyncio.sleep(1)
//       print("Hello, World!")
//
//   async def main():
//       t1 = asyncio.create_task(say_hello())
//       t2 = asyncio.create_task(say_hello())
//       await t1
//       await t2
//
//   loop = asyncio.new_event_loop()
//   loop.run_until_complete(main())
//   loop.close()
//
// Both tasks sleep at the same time: the program ends after about 1 s.
#include <cstdio>

#include <aiouv/aiouv.hpp>

using namespace std::chrono_literals;

aiouv::Coro<void> say_hello() {
  co_await aiouv::sleep(1s);
  std::puts("Hello, World!");
}

aiouv::Coro<void> main_coro() {
  auto t1 = aiouv::create_task(say_hello());
  auto t2 = aiouv::create_task(say_hello());
  co_await t1;
  co_await t2;
}

int main() {
  auto loop = aiouv::new_event_loop();
  loop->run_until_complete(main_coro());
  loop->close();
}
