return await Hailo.Hosting.ServiceHost.MainAsync(args, HailoFace.FaceService.Definition);
