/**
 * Counts the GPU buffers a device holds: createBuffer minus destroy, wrapped on the device object itself. The
 * pool's own accounting only sees pooled storage buffers; this sees every buffer (staging uploads and readbacks,
 * the uniform arena, anything created behind the pool's back), so a buffer that is dropped without destroy() shows
 * up as live even though the garbage collector might free it some day.
 */

export interface DeviceBufferCount {
  /** Buffers created and not destroyed since install. */
  readonly live: number;
  /** Their bytes. */
  readonly liveBytes: number;
  /** Buffers created since install. */
  readonly created: number;
  /** Restores the device's own createBuffer. */
  uninstall(): void;
}

export function countDeviceBuffers(device: GPUDevice): DeviceBufferCount {
  const original = device.createBuffer;
  const counts = { live: 0, liveBytes: 0, created: 0 };
  device.createBuffer = function (this: GPUDevice, desc: GPUBufferDescriptor): GPUBuffer {
    const buffer = original.call(this, desc);
    const size = Number(desc.size);
    counts.live++;
    counts.liveBytes += size;
    counts.created++;
    const destroy = buffer.destroy;
    let destroyed = false;
    buffer.destroy = function (this: GPUBuffer): undefined {
      // destroy() may be called twice (e.g. a failed map, then cleanup); count it once.
      if (!destroyed) {
        counts.live--;
        counts.liveBytes -= size;
      }
      destroyed = true;
      return destroy.call(buffer);
    };
    return buffer;
  };
  return {
    get live() {
      return counts.live;
    },
    get liveBytes() {
      return counts.liveBytes;
    },
    get created() {
      return counts.created;
    },
    uninstall() {
      device.createBuffer = original;
    },
  };
}
