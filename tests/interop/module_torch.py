"""The PyTorch half of the module exchange (driven by run_module_torch.cmake).

    module_torch.py CHECKPOINT IO_FILE

Builds the network of module_interop.cpp in PyTorch, loads tsgan's checkpoint with
load_state_dict(strict=True) (names, shapes and dtypes must all match), runs it in eval mode on
the stored input and compares with tsgan's output. Exits non-zero on any mismatch.
"""

import sys

import torch
from torch import nn

from safetensors_torch import read_safetensors


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.norm = nn.BatchNorm2d(8)
        self.up = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, bias=False)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        a = torch.relu(self.norm(self.conv(x)))
        b = nn.functional.leaky_relu(self.up(a), 0.2)
        return self.fc(b.mean(dim=(2, 3)))


def main():
    state, metadata, _ = read_safetensors(sys.argv[1])
    io, _, _ = read_safetensors(sys.argv[2])
    if "tsgan.version" not in metadata:
        print("the checkpoint lacks the tsgan.version metadata")
        return 1
    net = Net()
    net.load_state_dict(state, strict=True)
    net.eval()
    with torch.no_grad():
        out = net(io["input"])
    err = (out - io["output"]).abs().max().item()
    scale = io["output"].abs().max().item()
    print(f"PyTorch forward vs tsgan: max |diff| {err:.3g} (outputs up to {scale:.3g}); "
          f"num_batches_tracked {int(state['norm.num_batches_tracked'])}")
    if not err <= 1e-5 * max(1.0, scale):
        print("MISMATCH")
        return 1
    if int(state["norm.num_batches_tracked"]) != 2:
        print("num_batches_tracked should be 2")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
