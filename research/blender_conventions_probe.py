"""Render a tiny real Blender Cycles sequence with every pass `ssr import --from blender` reads.

Runs inside Blender's Python (the `bpy` module from PyPI, or `blender -b -P this.py -- OUT`):

    python research/blender_conventions_probe.py OUT_DIR [--reference]

Writes OUT_DIR/frame_0001.exr ... (OpenEXR MultiLayer: Combined, Depth, Normal, Vector,
Denoising Data), OUT_DIR/camera.json (the ssr import camera sidecar, Blender convention)
and OUT_DIR/truth.json (the moving sphere's centre per frame). With --reference, also
OUT_DIR/reference/ at 64 spp. A checker-textured floor, a cube, a sphere moving by a known
offset, and a camera that translates and turns: the test
tests/data_tools/test_import_blender_real.py imports it and checks the pass conventions
(motion sign and units, depth kind, normal spaces) against the scene's known geometry.
"""

import json
import math
import sys

import bpy

argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
out = argv[0]
with_reference = "--reference" in argv
FRAMES = 3
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.use_denoising = False
scene.cycles.seed = 1
scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 64, 48, 100
scene.render.use_motion_blur = False
scene.render.film_transparent = False

floor_material = bpy.data.materials.new("checker")
floor_material.use_nodes = True
nodes = floor_material.node_tree.nodes
checker = nodes.new("ShaderNodeTexChecker")
checker.inputs["Scale"].default_value = 12.0
checker.inputs["Color1"].default_value = (0.9, 0.9, 0.9, 1)
checker.inputs["Color2"].default_value = (0.1, 0.3, 0.6, 1)
floor_material.node_tree.links.new(checker.outputs["Color"], nodes["Principled BSDF"].inputs["Base Color"])
bpy.ops.mesh.primitive_plane_add(size=20, location=(0, 0, 0))
bpy.context.object.data.materials.append(floor_material)
bpy.ops.mesh.primitive_cube_add(size=1.0, location=(0.6, 0.4, 0.5))
red = bpy.data.materials.new("red")
red.use_nodes = True
red.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (0.8, 0.2, 0.1, 1)
bpy.context.object.data.materials.append(red)
bpy.ops.mesh.primitive_uv_sphere_add(radius=0.4, location=(-1.0, 0.0, 0.4))
ball = bpy.context.object
bpy.ops.object.light_add(type="SUN", location=(0, 0, 5))
world = bpy.data.worlds.new("world")
scene.world = world
world.use_nodes = True
world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.5

camera_data = bpy.data.cameras.new("camera")
camera_data.sensor_fit = "VERTICAL"
camera_data.angle_y = math.radians(50)
camera = bpy.data.objects.new("camera", camera_data)
scene.collection.objects.link(camera)
scene.camera = camera
for frame in range(1, FRAMES + 1):
    k = frame - 1
    camera.location = (0.15 * k, -5 + 0.1 * k, 2.5 + 0.05 * k)
    camera.rotation_euler = (math.radians(65 - 0.5 * k), 0, math.radians(2.0 * k))
    camera.keyframe_insert("location", frame=frame)
    camera.keyframe_insert("rotation_euler", frame=frame)
    ball.location = (-1.0 + 0.2 * k, 0.1 * k, 0.4)
    ball.keyframe_insert("location", frame=frame)
for action_owner in (camera, ball):
    for curve in action_owner.animation_data.action.fcurves:
        for point in curve.keyframe_points:
            point.interpolation = "LINEAR"

layer = scene.view_layers[0]
layer.use_pass_z = True
layer.use_pass_normal = True
layer.use_pass_vector = True
layer.cycles.denoising_store_passes = True
scene.render.image_settings.file_format = "OPEN_EXR_MULTILAYER"
scene.render.image_settings.color_depth = "32"

matrices, balls = [], []
for samples, folder in ((4, out), (64, f"{out}/reference")) if with_reference else ((4, out),):
    scene.cycles.samples = samples
    matrices, balls = [], []
    for frame in range(1, FRAMES + 1):
        scene.frame_set(frame)
        scene.render.filepath = f"{folder}/frame_{frame:04d}.exr"
        bpy.ops.render.render(write_still=True)
        matrices.append([list(row) for row in camera.matrix_world])
        balls.append(list(ball.matrix_world.translation))
with open(f"{out}/camera.json", "w") as handle:
    json.dump({"convention": "blender", "fov_y_deg": math.degrees(camera_data.angle_y), "to_world": matrices}, handle)
with open(f"{out}/truth.json", "w") as handle:
    json.dump({"ball_centre": balls, "ball_radius": 0.4, "floor_z": 0.0}, handle)
