// ioredis's own slot function (CRC16 of the hash tag, mod 16384), which ships without types.
declare module "cluster-key-slot" {
  export default function calculateSlot(key: string): number;
}
