// Errors. Every failure tsgan reports at run time is a tsgan::Error (or a subclass) whose message
// names what is at fault: the file, the tensor, the shape, the CUDA call.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace tsgan {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file could not be read, written or parsed; the message starts with the path.
class IoError : public Error {
 public:
  using Error::Error;
};

// An allocation failed; the message says how much was asked and how much was in use.
class OutOfMemoryError : public Error {
 public:
  using Error::Error;
};

template <class E = Error, class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw E(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace tsgan
