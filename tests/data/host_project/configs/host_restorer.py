# The host's own model uses our generator by its scoped name.
default_scope = 'host_pkg'
custom_imports = dict(imports=['host_pkg', 'cyclegan_plugin'], allow_failed_imports=False)
model = dict(type='Restorer',
             generator=dict(type='cyclegan_plugin.ResnetGenerator', ngf=8, n_blocks=1))
