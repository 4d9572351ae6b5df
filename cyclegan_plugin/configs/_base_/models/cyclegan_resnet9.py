# Generated from configs/_base_/models/cyclegan_resnet9.py by tools/make_py_configs.py:
# edit that file and run the tool again (the tests check that both agree).
# The paper's CycleGAN: ResNet-9 generators, 70x70 PatchGAN discriminators, LSGAN,
# lambda 10, identity 0.5, pools of 50, instance norm, N(0, 0.02) init. The model builds its
# networks and loss in the cyclegan_plugin scope.
model = dict(
    type='cyclegan_plugin.CycleGAN',
    data_preprocessor=dict(type='cyclegan_plugin.CycleGANDataPreprocessor'),
    generator=dict(type='ResnetGenerator', in_channels=3, out_channels=3, ngf=64, n_blocks=9,
                   norm='instance', use_dropout=False, init_cfg=dict(type='normal', gain=0.02)),
    discriminator=dict(type='PatchDiscriminator', ndf=64, n_layers=3, norm='instance',
                       init_cfg=dict(type='normal', gain=0.02)),
    gan_loss=dict(type='GANLoss', gan_mode='lsgan'),
    lambda_A=10.0,
    lambda_B=10.0,
    lambda_identity=0.5,
    pool_size=50,
)
