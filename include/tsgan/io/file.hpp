// Whole files: read one into memory, or replace one atomically. Every failure is an IoError whose
// message starts with the path and ends with the system's reason (strerror).
//
// write_file_atomic never leaves a half-written target: it writes a temporary file in the target's
// directory (same file system, so the rename cannot degrade into a copy), fsyncs it, renames it
// over the target and fsyncs the directory so the rename itself survives a crash. A reader sees the
// old file or the new one, never a mixture; on failure the temporary file is removed and the target
// is untouched. POSIX only (open/fsync/rename), which is what tsgan's platforms provide.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tsgan/core/error.hpp"

namespace tsgan::io {

namespace detail {

[[noreturn]] inline void fail_errno(const std::filesystem::path& path, const char* what, int err) {
  fail<IoError>("{}: {}: {}", path.string(), what, std::strerror(err));
}

// Closes a descriptor on scope exit unless released; close errors on the success path are checked
// by the caller (they can report a failed delayed write), so this only covers the error paths.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

inline void write_all(int fd, const std::byte* data, std::size_t size, const std::filesystem::path& shown) {
  while (size > 0) {
    const ::ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno(shown, "cannot write", errno);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace detail

// The whole file, read until end of file (not trusting the size stat reports, which a concurrent
// writer may change).
inline std::vector<std::byte> read_file(const std::filesystem::path& path) {
  detail::FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) detail::fail_errno(path, "cannot open", errno);
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) detail::fail_errno(path, "cannot stat", errno);
  if (S_ISDIR(st.st_mode)) detail::fail_errno(path, "cannot read", EISDIR);

  std::vector<std::byte> bytes(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 0) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == bytes.size()) bytes.resize(bytes.size() * 2);
    const ::ssize_t n = ::read(fd.get(), bytes.data() + used, bytes.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      detail::fail_errno(path, "cannot read", errno);
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  bytes.resize(used);
  return bytes;
}

// Replaces `path` with `bytes` atomically (see the top of this header). The new file gets the
// permissions of an ordinary new file (0666 minus the umask).
inline void write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  namespace fs = std::filesystem;
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!path.has_filename()) fail<IoError>("{}: not a file name", path.string());

  // A name no other writer (thread or process) picks: the pid and a per-process counter, retried
  // on the rare collision with a leftover of a crashed process that had the same pid.
  static std::atomic<unsigned> counter{0};
  fs::path tmp;
  int raw = -1;
  for (int attempt = 0; attempt < 100 && raw < 0; ++attempt) {
    tmp = dir / fmt::format(".{}.tmp.{}.{}", path.filename().string(), ::getpid(), counter++);
    raw = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (raw < 0 && errno != EEXIST) detail::fail_errno(path, "cannot create a temporary file", errno);
  }
  if (raw < 0) detail::fail_errno(path, "cannot create a temporary file", EEXIST);

  detail::FileDescriptor fd(raw);
  try {
    detail::write_all(fd.get(), bytes.data(), bytes.size(), path);
    if (::fsync(fd.get()) != 0) detail::fail_errno(path, "cannot sync the temporary file", errno);
    if (::close(fd.release()) != 0) detail::fail_errno(path, "cannot close the temporary file", errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      detail::fail_errno(path, "cannot rename the temporary file over it", errno);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }

  // The rename is in place; syncing the directory makes it durable. Some file systems cannot sync
  // a directory (EINVAL); the data is then as durable as that file system allows.
  detail::FileDescriptor dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) detail::fail_errno(path, "cannot open its directory to sync it", errno);
  if (::fsync(dfd.get()) != 0 && errno != EINVAL)
    detail::fail_errno(path, "cannot sync its directory", errno);
}

}  // namespace tsgan::io
