from .patch_discriminator import PatchDiscriminator, PixelDiscriminator

__all__ = ['PatchDiscriminator', 'PixelDiscriminator']
